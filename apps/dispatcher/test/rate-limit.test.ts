import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, fanoutJobId, PriceCache, subscriberId, SubscriptionStore, type Queues } from '@tickercast/shared';
import { freePort, spawnScript, until, type Spawned } from '../../../test/support/processes.ts';
import { startJitterProxy } from '../../../test/support/jitter-proxy.ts';
import { redisEnv, testRedis, type TestRedis } from '../../../test/support/redis.ts';

/*
 * Two dispatcher processes share one channel limit, held in Redis, against a simulator process
 * that enforces the same limit over any rolling second of arrivals and counts every 429 it
 * answers. Between them a proxy holds each request for a random 0–80 ms (per chunk, so up to
 * twice that), more than twice the slack the send schedule keeps for a request's way there:
 * what a busy machine or a slow network does to arrival times, on purpose and every run. Asserted: what reached the simulator (its accepted and refused counts, the busiest
 * second of arrivals) and what is in Redis; never how long anything took. The achieved rate is a
 * figure of the bench (`npm run bench -- --only ratelimit`), not of this test.
 */

interface Lane {
  limit: number;
  accepted: number;
  throttled: number;
  maxPerSecond: number;
}

describe('channel rate limit across dispatcher processes', () => {
  const LIMIT = 10;
  let t: TestRedis;
  let queues: Queues;
  let sim: Spawned;
  let simUrl: string;
  let proxy: Awaited<ReturnType<typeof startJitterProxy>>;
  const dispatchers: Spawned[] = [];
  const stats = async () => ((await (await fetch(`${simUrl}/_sim/stats`)).json()) as { channels: Record<string, Lane> }).channels.sms!;
  const accepted = async () => (await stats()).accepted;

  beforeAll(async () => {
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const port = await freePort();
    simUrl = `http://127.0.0.1:${port}`;
    const env = {
      VONAGE_APPLICATION_ID: randomUUID(),
      VONAGE_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      LOG_LEVEL: 'warn',
    };
    sim = spawnScript('apps/simulator/src/main.ts', {
      ...env,
      HOST: '127.0.0.1',
      SIMULATOR_PORT: String(port),
      SIMULATOR_RATE_LIMITS: `sms=${LIMIT}`,
      SIMULATOR_STATUS_WEBHOOKS: 'off',
    });
    await until('simulator up', async () => (await fetch(`${simUrl}/healthz`).catch(() => undefined))?.ok, 20_000);
    proxy = await startJitterProxy(port, 80);
    const dispatcherEnv = {
      ...env,
      ...redisEnv(),
      REDIS_NAMESPACE: t.namespace,
      VONAGE_API_URL: proxy.url,
      SMS_RATE_PER_SEC: String(LIMIT),
      DISPATCHER_CONCURRENCY: '20',
    };
    dispatchers.push(spawnScript('apps/dispatcher/src/main.ts', dispatcherEnv), spawnScript('apps/dispatcher/src/main.ts', dispatcherEnv));
    // Both running before the work arrives: a process still loading its modules takes the CPU
    // from the other, and that delay, not the limiter, is what a rolling-second counter would see.
    await until('both dispatchers serving', async () => (await queues.send.sms.getWorkers()).length >= 2, 30_000);
  }, 40_000);

  /** Every send job added so far has finished: nothing more can reach the simulator. */
  const drained = async () => {
    return Object.values(await queues.send.sms.getJobCounts('waiting', 'prioritized', 'delayed', 'active')).every((n) => n === 0);
  };

  afterAll(async () => {
    for (const p of [...dispatchers, sim]) p.child.kill('SIGTERM');
    await Promise.all([...dispatchers, sim].map((p) => p.exited));
    await proxy?.close();
    await queues.close();
    await t.cleanup();
  }, 40_000);

  it('two dispatchers at the configured limit, their requests delayed at random on the way, draw no 429 from a provider enforcing it', async () => {
    const total = 45;
    await queues.send.sms.addBulk(
      Array.from({ length: total }, (_, i) => ({
        name: 'reply',
        data: { kind: 'reply' as const, subscriberId: subscriberId('sms', `447700901${String(i).padStart(3, '0')}`), text: `m${i}` },
      })),
    );
    await until('all sent', async () => (await accepted()) >= total, 30_000);
    await until('the queue drained', drained, 30_000);
    const lane = await stats();
    expect(lane).toMatchObject({ limit: LIMIT, accepted: total, throttled: 0 });
    expect(await queues.send.sms.getJobCounts('completed', 'failed')).toEqual({ completed: total, failed: 0 });
    expect(lane.maxPerSecond).toBeLessThanOrEqual(LIMIT);
    // Both processes were serving the queue while it drained.
    expect((await queues.send.sms.getWorkers()).length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a tick added twice is fanned out once, however many dispatchers run: each subscriber gets one message', async () => {
    const store = new SubscriptionStore(t.redis, t.keys);
    const prices = new PriceCache(t.redis, t.keys);
    const subs = Array.from({ length: 12 }, (_, i) => `447700903${String(i).padStart(3, '0')}`);
    for (const s of subs) await store.subscribe('sms', s, ['MSFT']);
    const before = await accepted();
    const q = await prices.set('MSFT', 444.44);
    const job = { symbol: 'MSFT', version: q.version, tickedAt: Date.now() };
    await queues.fanout.add('fanout', job, { jobId: fanoutJobId(job) });
    await queues.fanout.add('fanout', job, { jobId: fanoutJobId(job) });
    await until('all sent', async () => (await accepted()) >= before + subs.length, 30_000);
    // Both fan-outs done and every send finished: anything sent twice would be at the simulator now.
    await until('the fan-out done', async () => Object.values(await queues.fanout.getJobCounts('waiting', 'active', 'delayed')).every((n) => n === 0), 30_000);
    await until('the queue drained', drained, 30_000);
    expect(await queues.fanout.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
    for (const s of subs) {
      const res = (await (await fetch(`${simUrl}/_sim/messages?to=${s}`)).json()) as { messages: { display: string }[] };
      expect(res.messages.map((m) => m.display)).toEqual(['MSFT 444.44']);
    }
    expect((await stats()).throttled).toBe(0);
  }, 60_000);
});
