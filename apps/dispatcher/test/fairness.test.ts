import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A backlogged channel serves subscribers in turn. Deduplication keeps one waiting update per
 * subscription and the feed's single priority keeps them first in, first out, so nobody is
 * served twice while another's update waits. One inexactness remains: a tick adds the jobs of the
 * subscribers served since the last tick in set order, not in the order they were served, so when
 * ticks land mid-round a subscriber can see another get two turns (the old tick's and the new
 * one's) before its own; never three. The test asserts that bound and that two are rare.
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
    d = await testDispatcher(t, sim, { concurrency: 1, offered: ['MSFT'] });
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  it('no subscriber waits for three turns of another, and two are rare', async () => {
    const subscribers = Array.from({ length: 8 }, (_, i) => `447700906${String(i).padStart(3, '0')}`);
    for (const s of subscribers) await d.store.subscribe('sms', s, ['MSFT']);
    // Turns, in the order the one send worker finished them. A turn may send nothing: its job was
    // queued by a tick whose price an earlier turn already carried (conflation), so the messages
    // alone would show a skipped turn as a wait.
    const turns: string[] = [];
    const sendWorker = d.workers.find((w) => w.name === 'send-sms')!;
    sendWorker.on('completed', (job) => turns.push(String(job.data.subscriberId).replace('sms:', '')));
    for (let tick = 0; tick < 20; tick++) {
      const q = await d.prices.set('MSFT', 300 + tick);
      await d.queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });
      await new Promise((r) => setTimeout(r, 40));
    }
    await until('drained', async () => {
      const c = await d.queues.send.sms.getJobCounts('waiting', 'prioritized', 'active');
      return c.waiting! + c.prioritized! + c.active! === 0;
    }, 30_000);

    expect(sim.store.messages().length).toBeGreaterThan(subscribers.length * 2);
    let waits = 0;
    let twice = 0;
    for (const s of subscribers) {
      const at = turns.flatMap((to, i) => (to === s ? [i] : []));
      for (let k = 1; k < at.length; k++) {
        const between = turns.slice(at[k - 1]! + 1, at[k]);
        for (const other of subscribers) {
          const n = between.filter((to) => to === other).length;
          expect(n, `${other} between two of ${s}`).toBeLessThanOrEqual(2);
          waits++;
          if (n === 2) twice++;
        }
      }
    }
    expect(twice, `another served twice in ${twice} of ${waits} waits (${turns.length} turns)`).toBeLessThan(waits * 0.05);
  }, 60_000);
});

/*
 * A person who wrote is waiting; a feed update that waits is replaced by a fresher one. So while
 * replies wait they take nearly every send of the channel (REPLY_RATE_SHARE, 0.95 by default),
 * the feed keeps a floor and never stops entirely, and once the replies are drained the feed has
 * every send again. Asserted on the order in which the simulator received the messages.
 */
describe('a burst of replies and the feed', () => {
  const RATE = 20;
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator();
    t = testRedis();
    d = await testDispatcher(t, sim, { concurrency: 1, offered: ['MSFT'], rates: { sms: RATE, whatsapp: RATE, messenger: RATE, viber_service: RATE }, refillAheadS: 5 });
    await d.stopWorkers();
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  it('while replies wait they get nearly every send, the feed still moves, and it has every send again once they are drained', async () => {
    const feed = Array.from({ length: 60 }, (_, i) => `447700907${String(i).padStart(3, '0')}`);
    for (const s of feed) await d.store.subscribe('sms', s, ['MSFT']);
    await d.prices.set('MSFT', 512);
    await d.refiller.request('sms');
    expect(await d.queues.send.sms.getPrioritizedCount()).toBe(feed.length);
    // The dispatcher is busy with the feed when the burst arrives, as it would be in service.
    await d.start(1);
    await until('the feed is flowing', () => sim.store.messages().length > 0);
    const askers = Array.from({ length: 80 }, (_, i) => `447700908${String(i).padStart(3, '0')}`);
    for (const [i, a] of askers.entries()) {
      await d.replies.add('sms', 'reply', { subscriberId: `sms:${a}`, text: `answer ${i}` }, `burst-${i}`);
    }

    await until('everyone served', () => sim.store.messages().length === feed.length + askers.length, 30_000);
    const order = sim.store.messages().map((m) => (askers.includes(m.to) ? 'reply' : 'feed'));
    const first = order.indexOf('reply');
    const last = order.lastIndexOf('reply');
    const whileWaiting = order.slice(first, last + 1);
    const feedWhileWaiting = whileWaiting.filter((k) => k === 'feed').length;
    // Replies got nearly every send while they waited (0.95 of them by the share)...
    expect(askers.length / whileWaiting.length, order.join(' ')).toBeGreaterThanOrEqual(0.85);
    // ...yet the feed never stopped: about one send in twenty went to it, never none in forty.
    expect(feedWhileWaiting, order.join(' ')).toBeGreaterThanOrEqual(Math.floor(whileWaiting.length / 40));
    let longest = 0;
    let run = 0;
    for (const kind of whileWaiting) {
      run = kind === 'reply' ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest, order.join(' ')).toBeLessThanOrEqual(40);
    // Drained, the replies leave every send to the feed: the rest of the backlog follows at once.
    expect(order.slice(last + 1).every((k) => k === 'feed')).toBe(true);
    expect(order.slice(last + 1).length).toBe(feed.length - order.slice(0, last + 1).filter((k) => k === 'feed').length);
  }, 60_000);
});
