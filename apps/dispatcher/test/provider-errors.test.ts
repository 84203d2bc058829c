import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderStatus, subscriberId } from '@tickercast/shared';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * The provider answers the first requests with 429 or 5xx: the dispatcher waits as told (429,
 * without spending attempts) or backs off and retries (5xx), and every message gets through.
 */

type Fault = { status: number; retryAfter?: string; remaining: number; until?: number };

describe('provider errors', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;
  const fault: Fault = { status: 0, remaining: 0 };
  const log: { at: number; status: number }[] = [];

  beforeEach(async () => {
    log.length = 0;
    Object.assign(fault, { status: 0, remaining: 0, until: undefined, retryAfter: undefined });
    sim = await startSimulator(undefined, ({ app }) => {
      app.addHook('onRequest', async (req, reply) => {
        if (req.url !== '/v1/messages') return;
        if (fault.remaining > 0 || (fault.until ?? 0) > Date.now()) {
          fault.remaining--;
          log.push({ at: Date.now(), status: fault.status });
          if (fault.retryAfter) void reply.header('retry-after', fault.retryAfter);
          return reply.code(fault.status).type('application/problem+json').send({ type: 'https://developer.vonage.com/api-errors/messages#1000', title: 'injected', detail: 'test', instance: 'x' });
        }
        log.push({ at: Date.now(), status: 202 });
      });
    });
    t = testRedis();
    d = await testDispatcher(t, sim, { concurrency: 4 });
  });
  afterEach(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  const sendReplies = (n: number) =>
    d.queues.send.sms.addBulk(
      Array.from({ length: n }, (_, i) => ({
        name: 'reply',
        data: { kind: 'reply' as const, subscriberId: subscriberId('sms', `447700902${String(i).padStart(3, '0')}`), text: `m${i}` },
      })),
    );

  it('a 429 with Retry-After pauses the channel for that long, spends no attempt, and everything is sent', async () => {
    Object.assign(fault, { status: 429, retryAfter: '1', remaining: 3 });
    await sendReplies(10);
    await until('all completed', async () => (await d.queues.send.sms.getCompletedCount()) === 10, 20_000);
    expect(sim.store.acceptedTotal).toBe(10);

    // Requests already in flight when the 429 came may land; after them the channel waits.
    const lastThrottle = log.filter((l) => l.status === 429).at(-1)!.at;
    const during = log.filter((l) => l.at > lastThrottle + 100 && l.at < lastThrottle + 900);
    expect(during).toEqual([]);
    expect(log.at(-1)!.at - lastThrottle).toBeGreaterThanOrEqual(900);
    const completed = await d.queues.send.sms.getCompleted();
    expect(completed).toHaveLength(10);
    // A rate-limited attempt is handed back, not counted: each job has its one successful attempt.
    for (const job of completed) expect(job.attemptsMade).toBeLessThanOrEqual(1);
    expect(await d.queues.send.sms.getFailedCount()).toBe(0);
  });

  it('5xx answers are retried with backoff until the provider recovers, and nothing fails', async () => {
    Object.assign(fault, { status: 503, retryAfter: undefined, remaining: 4 });
    await sendReplies(4);
    await until('all completed', async () => (await d.queues.send.sms.getCompletedCount()) === 4, 30_000);
    expect(sim.store.acceptedTotal).toBe(4);
    const completed = await d.queues.send.sms.getCompleted();
    expect(completed).toHaveLength(4);
    expect(Math.max(...completed.map((j) => j.attemptsMade))).toBeGreaterThanOrEqual(2);
    expect(await d.queues.send.sms.getFailedCount()).toBe(0);
    expect(log.filter((l) => l.status === 503)).toHaveLength(4);
  }, 40_000);

  it('an outage rests the channel after a few failures in a row: attempts are not spent meanwhile, and sending resumes', async () => {
    const outageMs = 4000;
    Object.assign(fault, { status: 503, retryAfter: undefined, remaining: 0, until: Date.now() + outageMs });
    const status = new ProviderStatus(t.redis, t.keys);
    const started = Date.now();
    await sendReplies(10);
    // While the channel rests, Redis says so (the dashboard's banner), with since when; the other channels are fine.
    await until('the open breaker is marked in Redis', async () => (await status.openSince()).sms !== null, 10_000);
    const marked = await status.openSince();
    expect(marked.sms).toBeGreaterThanOrEqual(started);
    expect(marked.sms).toBeLessThanOrEqual(Date.now());
    expect({ ...marked, sms: null }).toEqual({ sms: null, whatsapp: null, messenger: null, viber_service: null });
    expect(await t.redis.pttl(t.keys.providerBreakerOpen('sms'))).toBeGreaterThan(0);
    await until('all completed', async () => (await d.queues.send.sms.getCompletedCount()) === 10, 30_000);
    expect(sim.store.acceptedTotal).toBe(10);
    expect(await d.queues.send.sms.getFailedCount()).toBe(0);
    // The provider answered again: the mark is gone at once, not at its TTL.
    expect((await status.openSince()).sms).toBeNull();
    const failures = log.filter((l) => l.status === 503);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    // Only the failures before the provider looked down (two in a row) spent attempts: with
    // backoff alone, 4 s of 503s would have cost each job two or three.
    const completed = await d.queues.send.sms.getCompleted();
    expect(completed.reduce((sum, j) => sum + j.attemptsMade, 0)).toBeLessThanOrEqual(10 + 2);
  }, 40_000);

  it('a 401 fails the send at once, with the reason kept', async () => {
    Object.assign(fault, { status: 401, retryAfter: undefined, remaining: 1 });
    await sendReplies(1);
    const [failed] = await until('failed', async () => {
      const f = await d.queues.send.sms.getFailed();
      return f.length > 0 ? f : undefined;
    });
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.failedReason).toMatch(/UnauthorizedError/);
  });
});
