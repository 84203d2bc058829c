/**
 * Scenario 5 — Redis restarts under the running system. A dedicated redis-server with AOF
 * (appendfsync always) on its own port and directory; a phone subscribes through the webhooks,
 * SMS subscribers are seeded, and delayed jobs are queued: a fan-out due while Redis is down, and
 * a send (a reply) due a moment after Redis is back. Redis is stopped (SIGTERM) and started again
 * on the same port and directory. Guarantees: the ingress reports not-ready while Redis is away and
 * ready again after; the subscriptions and the queued jobs survived; a new inbound webhook is
 * processed end to end; each delayed job starts within 5 s of Redis answering again, or of its
 * due time if that is later (read from the jobs' own `processedOn`); the fan-out reaches everyone.
 */
import { afterAll, expect, test } from 'vitest';
import { createRedis, fanoutJobId, subscriberId, type Redis } from '@tickercast/shared';
import { startOwnRedis, type OwnRedis } from '../test/support/own-redis.ts';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type System } from './support.ts';

const N = QUICK ? 100 : 500;
const DOWN_MS = QUICK ? 2000 : 5000;
/** How late a delayed job may start after Redis answers again (or after its due time, if later). */
const LATE_BOUND_MS = 5000;
let sys: System | undefined;
let own: OwnRedis | undefined;

afterAll(async () => {
  await sys?.stop();
  await own?.close();
});

/** Resolves at the first moment a fresh connection gets PONG: when Redis answers again. */
async function answering(url: string): Promise<number> {
  for (;;) {
    const probe: Redis = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return Date.now();
    } catch {
      // not yet
    } finally {
      probe.disconnect();
    }
    await sleep(20);
  }
}

async function readyz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

test(`Redis restarted (${DOWN_MS / 1000} s down): every process reconnects, subscriptions and queued jobs survive, delayed jobs run within ${LATE_BOUND_MS / 1000} s`, async () => {
  own = await startOwnRedis();
  const redisUp = own;
  sys = await startSystem({ redisUrl: own.url, dispatchers: 1, env: { LOG_LEVEL: 'warn' } });
  const s = sys;

  const phoneSubscribes = async (number: string) => {
    await s.sim(`/_sim/phones/sms/${number}/send`, { method: 'POST', body: { text: 'MSFT' } });
    await until(`${number} subscribed`, () => s.store.isSubscribed(subscriberId('sms', number), 'MSFT'), 30_000);
  };
  await s.prices.set('MSFT', 250.5);
  await phoneSubscribes('447700900501');
  const addresses = await seedSmsSubscribers(s, N);
  const quote = await s.prices.set('MSFT', 251.75);

  // Two delayed jobs, as the system makes them: a tick's fan-out, due while Redis is down, and a
  // send (a reply), due a moment after Redis is back: the workers were blocked waiting for them.
  const stopAt = Date.now() + 1000;
  const fanoutDueAt = stopAt + DOWN_MS / 2;
  await s.queues.fanout.add('fanout', { symbol: 'MSFT', version: quote.version, tickedAt: Date.now() }, { jobId: fanoutJobId(quote), delay: fanoutDueAt - Date.now() });
  const sendDueAt = stopAt + DOWN_MS + 1500;
  const sendJobId = 'chaos-delayed-reply';
  await s.queues.send.sms.add('reply', { kind: 'reply', subscriberId: subscriberId('sms', '447700900503'), text: 'a delayed reply' }, { jobId: sendJobId, delay: sendDueAt - Date.now() });
  await sleep(stopAt - Date.now());

  // Redis goes away.
  const downAt = Date.now();
  await own.stop();
  let notReady = 0;
  while (Date.now() - downAt < DOWN_MS) {
    if ((await readyz(s.ingressUrl)) !== 200) notReady++;
    await sleep(250);
  }
  const answered = answering(own.url);
  await redisUp.start();
  const upAt = await answered;
  await until('ingress /readyz 200', async () => (await readyz(s.ingressUrl)) === 200, 30_000);
  const readyAt = Date.now();

  // What was in Redis before is still there.
  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;

  // A new inbound webhook goes through ingress → queue → dispatcher.
  await phoneSubscribes('447700900502');
  const newInboundMs = Date.now() - upAt;

  // The delayed jobs run, and the fan-out reaches every subscriber.
  const started = async (job: { processedOn?: number } | undefined) => job?.processedOn;
  const fanoutStartedAt = await until('the delayed fan-out to start', async () => started(await s.queues.fanout.getJob(fanoutJobId(quote))), 90_000);
  const sendStartedAt = await until('the delayed send to start', async () => started(await s.queues.send.sms.getJob(sendJobId)), 90_000);
  const everyone = [...addresses, '447700900501', '447700900502'];
  let got = 0;
  await until(
    'the delayed fan-out to reach everyone',
    async () => {
      const per = byRecipient(await s.messages());
      got = everyone.filter((a) => per.get(a)?.some((m) => m.display.includes('MSFT 251.75'))).length;
      return got === everyone.length;
    },
    90_000,
  );
  const allServedAt = Date.now();
  const counts = await s.jobCounts();
  const alive = s.procs.filter((p) => p.spawned.child.exitCode === null).map((p) => p.name);
  const lateness = (startedAt: number, dueAt: number) => startedAt - Math.max(dueAt, upAt);
  report('redis-restart', {
    seededSubscribers: N,
    downMs: upAt - downAt,
    readyzNotReadySamples: notReady,
    redisUpToReadyzMs: readyAt - upAt,
    subscriptionsAfterRestart: subscribed,
    redisUpToNewInboundProcessedMs: newInboundMs,
    fanoutDueMsBeforeRedisUp: upAt - fanoutDueAt,
    fanoutStartedAfterRedisUpMs: lateness(fanoutStartedAt, fanoutDueAt),
    sendDueMsAfterRedisUp: sendDueAt - upAt,
    sendStartedAfterDueMs: lateness(sendStartedAt, sendDueAt),
    fanoutStartToEveryoneServedMs: allServedAt - fanoutStartedAt,
    recipientsWithPrice: got,
    failedJobs: counts.failed ?? 0,
    processesAlive: alive,
  });

  expect(notReady).toBeGreaterThan(0);
  expect(subscribed).toBe(N + 1);
  expect(lateness(fanoutStartedAt, fanoutDueAt)).toBeLessThanOrEqual(LATE_BOUND_MS);
  expect(lateness(sendStartedAt, sendDueAt)).toBeLessThanOrEqual(LATE_BOUND_MS);
  expect(got).toBe(everyone.length);
  expect(counts.failed ?? 0).toBe(0);
  expect(alive.sort()).toEqual(['dispatcher-1', 'ingress', 'simulator']);
});
