import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A backlogged channel serves subscribers in turn: between two updates to one subscriber, no
 * other subscriber of the same ticker gets two. (Deduplication keeps one waiting update per
 * subscription, and the feed's single priority keeps them first in, first out.)
 */

describe('feed fairness under a backlog', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req) => {
        if (req.url === '/v1/messages') await new Promise((r) => setTimeout(r, 15));
      }),
    );
    t = testRedis();
    d = testDispatcher(t, sim, { concurrency: 1, offered: ['MSFT'] });
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  it('no subscriber waits for two of another subscriber’s updates', async () => {
    const subscribers = Array.from({ length: 8 }, (_, i) => `447700906${String(i).padStart(3, '0')}`);
    for (const s of subscribers) await d.store.subscribe('sms', s, ['MSFT']);
    for (let tick = 0; tick < 20; tick++) {
      const q = await d.prices.set('MSFT', 300 + tick);
      await d.queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
      await new Promise((r) => setTimeout(r, 40));
    }
    await until('drained', async () => {
      const c = await d.queues.send.sms.getJobCounts('waiting', 'prioritized', 'active');
      return c.waiting! + c.prioritized! + c.active! === 0;
    }, 30_000);

    const order = sim.store.messages().map((m) => m.to);
    expect(order.length).toBeGreaterThan(subscribers.length * 2);
    for (const s of subscribers) {
      const at = order.flatMap((to, i) => (to === s ? [i] : []));
      for (let k = 1; k < at.length; k++) {
        const between = order.slice(at[k - 1]! + 1, at[k]);
        for (const other of subscribers) expect(between.filter((to) => to === other).length, `${other} between two of ${s}`).toBeLessThanOrEqual(1);
      }
    }
  }, 60_000);
});
