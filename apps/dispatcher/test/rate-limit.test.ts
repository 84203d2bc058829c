import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, subscriberId, type Queues } from '@tickercast/shared';
import { spawnScript, until, type Spawned } from '../../../test/support/processes.ts';
import { redisUrl, testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/** The largest number of timestamps that fall in any window of `windowMs` (closed). */
function maxInRollingWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < t.length; end++) {
    while (t[end]! - t[start]! >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

describe('channel rate limit across dispatcher processes', () => {
  const LIMIT = 10;
  let sim: RunningSimulator;
  let t: TestRedis;
  let queues: Queues;
  const dispatchers: Spawned[] = [];
  const arrivals: number[] = [];

  beforeAll(async () => {
    // Arrival times as the provider sees them, before any other work.
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req) => {
        if (req.url === '/v1/messages') arrivals.push(performance.timeOrigin + performance.now());
      }),
    );
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
  });
  afterAll(async () => {
    for (const d of dispatchers) d.child.kill('SIGTERM');
    await Promise.all(dispatchers.map((d) => d.exited));
    await queues.close();
    await t.cleanup();
    await sim.close();
  });

  it('two dispatchers together never send more than the limit in any rolling second', async () => {
    if (sim.auth.kind !== 'jwt') throw new Error('expected jwt');
    const total = 45;
    await queues.send.sms.addBulk(
      Array.from({ length: total }, (_, i) => ({
        name: 'reply',
        data: { kind: 'reply' as const, subscriberId: subscriberId('sms', `447700901${String(i).padStart(3, '0')}`), text: `m${i}` },
      })),
    );
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_NAMESPACE: t.namespace,
      VONAGE_API_URL: sim.url,
      VONAGE_APPLICATION_ID: sim.auth.applicationId,
      VONAGE_PRIVATE_KEY: sim.auth.privateKey,
      SMS_RATE_PER_SEC: String(LIMIT),
      DISPATCHER_CONCURRENCY: '20',
      LOG_LEVEL: 'warn',
    };
    dispatchers.push(spawnScript('apps/dispatcher/src/main.ts', env), spawnScript('apps/dispatcher/src/main.ts', env));
    await until('all sent', () => sim.store.acceptedTotal >= total, 30_000);

    expect(arrivals).toHaveLength(total);
    expect(maxInRollingWindow(arrivals, 1000)).toBeLessThanOrEqual(LIMIT);
    // Both processes were serving the queue while it drained.
    const workers = await queues.send.sms.getWorkers();
    expect(workers.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
