import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, subscriberId, type Queues } from '@tickercast/shared';
import { spawnScript, until } from '../../../test/support/processes.ts';
import { redisEnv, testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A real dispatcher process, SIGTERMed while sends are in flight against a slow provider: it
 * finishes what it holds, exits 0, and a second dispatcher delivers the rest — each message once.
 */

describe('dispatcher shutdown', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let queues: Queues;

  beforeAll(async () => {
    // A provider that takes 200 ms per message, so that SIGTERM finds sends in flight.
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req) => {
        if (req.url === '/v1/messages') await new Promise((r) => setTimeout(r, 200));
      }),
    );
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
  });
  afterAll(async () => {
    await queues.close();
    await t.cleanup();
    await sim.close();
  });

  const env = () => {
    if (sim.auth.kind !== 'jwt') throw new Error('expected jwt');
    return {
      ...redisEnv(),
      REDIS_NAMESPACE: t.namespace,
      VONAGE_API_URL: sim.url,
      VONAGE_APPLICATION_ID: sim.auth.applicationId,
      VONAGE_PRIVATE_KEY: sim.auth.privateKey,
      SMS_RATE_PER_SEC: '1000',
      DISPATCHER_CONCURRENCY: '10',
      LOG_LEVEL: 'warn',
    };
  };

  it('SIGTERM finishes the sends in flight, exits 0, and nothing is lost or sent twice', async () => {
    const total = 120;
    await queues.send.sms.addBulk(
      Array.from({ length: total }, (_, i) => ({
        name: 'reply',
        data: { kind: 'reply' as const, subscriberId: subscriberId('sms', `447700900${String(i).padStart(3, '0')}`), text: `message ${i}` },
      })),
    );

    const first = spawnScript('apps/dispatcher/src/main.ts', env());
    await until('some sends accepted', () => sim.store.acceptedTotal >= 20, 20_000);
    const stoppedAt = Date.now();
    first.child.kill('SIGTERM');
    const { code } = await first.exited;
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);

    const counts = await queues.send.sms.getJobCounts('active', 'failed', 'completed', 'waiting');
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect(sim.store.acceptedTotal).toBeLessThan(total);

    const second = spawnScript('apps/dispatcher/src/main.ts', env());
    await until('every send accepted', () => sim.store.acceptedTotal >= total, 30_000).catch(async (err: Error) => {
      const c = await queues.send.sms.getJobCounts();
      throw new Error(`${err.message}: accepted ${sim.store.acceptedTotal}, queue ${JSON.stringify(c)}\n${second.output()}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const texts = sim.store.messages().map((m) => m.display);
    expect(texts).toHaveLength(total);
    expect(new Set(texts).size).toBe(total);
  }, 90_000);
});
