import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A ticker far faster than a slow provider: the send queue stays bounded by the number of
 * subscriptions, and once ticks stop every subscriber's last message carries the final price.
 */

describe('conflation under a fast ticker and a stalled provider', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req) => {
        if (req.url === '/v1/messages') await new Promise((r) => setTimeout(r, 150));
      }),
    );
    t = testRedis();
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  it('holds at most one send per subscription and ends on the final price for everyone', async () => {
    d = await testDispatcher(t, sim, { concurrency: 5, offered: ['MSFT'] });
    const { store, prices, queues } = d;
    const subscribers = Array.from({ length: 25 }, (_, i) => `447700900${String(700 + i)}`);
    for (const s of subscribers) await store.subscribe('sms', s, ['MSFT']);

    let maxPending = 0;
    let finalPrice = 0;
    for (let tick = 0; tick < 60; tick++) {
      finalPrice = 400 + tick * 0.5;
      const q = await prices.set('MSFT', finalPrice);
      await queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
      const c = await queues.send.sms.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      maxPending = Math.max(maxPending, c.waiting! + c.prioritized! + c.active! + c.delayed!);
      await new Promise((r) => setTimeout(r, 20));
    }

    // Everyone on the final price, and nothing left to send. (An empty queue alone is not the end:
    // a tick's job only wakes the refill, which may not have queued the last sends yet.)
    const onFinal = (s: string) => new RegExp(`^MSFT ${finalPrice.toFixed(2)} `).test(sim.store.messages({ to: s }).at(-1)?.display ?? '');
    await until('everyone on the final price and the queue drained', async () => {
      const c = await queues.send.sms.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      const f = await queues.fanout.getJobCounts('waiting', 'active');
      return subscribers.every(onFinal) && c.waiting! + c.prioritized! + c.active! + c.delayed! + f.waiting! + f.active! === 0;
    }, 30_000);

    expect(maxPending).toBeGreaterThan(0);
    expect(maxPending).toBeLessThanOrEqual(subscribers.length);
    // Far fewer messages than ticks × subscribers: stale prices were never sent.
    expect(sim.store.acceptedTotal).toBeLessThan(60 * subscribers.length / 2);
    for (const s of subscribers) {
      const last = sim.store.messages({ to: s }).at(-1);
      expect(last?.display).toMatch(new RegExp(`^MSFT ${finalPrice.toFixed(2)} `));
    }
  }, 60_000);
});
