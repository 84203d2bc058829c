import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, makeTick, QUEUE } from '@tickercast/shared';
import { createFanoutProcessor } from '../src/fanout.ts';
import { TickWake } from '../src/tick-wake.ts';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

const logger = createLogger('test', 'silent');
let sim: RunningSimulator;
let t: TestRedis;
let d: TestDispatcher | undefined;

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await d?.close();
  d = undefined;
  await t.cleanup();
  sim.store.reset();
});

describe('a tick announced', () => {
  it("wakes the refill at once: the update goes while the tick's fan-out job still waits for a worker", async () => {
    t = testRedis();
    // No safety wake within the test, and no fan-out worker: only the announcement can wake the refill.
    d = await testDispatcher(t, sim, { refillSafetyMs: 600_000 });
    await d.workers.find((w) => w.name === QUEUE.fanout)!.close();
    await d.store.subscribe('sms', '447700900123', ['MSFT']);
    await makeTick(d, [{ symbol: 'MSFT', price: 412.35 }]);
    const sent = await until('the update', () => sim.store.messages({ channel: 'sms' }).find((m) => m.to === '447700900123'));
    expect(sent.display).toContain('MSFT 412.35');
    // Its fan-out job, the backup wake, waits out its delay: the tick's sends did not wait for it.
    expect(await d.queues.fanout.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 1 });
    // The turn's end recorded it: in their history (written with their settle), and as their last price.
    const history = await until('in the history', async () => ((await d!.deliveries.history('sms:447700900123')).length > 0 ? d!.deliveries.history('sms:447700900123') : undefined));
    expect(history.map((m) => [m.messageUuid, m.text])).toEqual([[sent.messageUuid, expect.stringContaining('MSFT 412.35')]]);
  });

  it('is heard per symbol and version; a refill that does not run does not count it heard; what is not an announcement is ignored', async () => {
    t = testRedis();
    let asked = 0;
    let running = true;
    const wake = new TickWake(t.redis, t.keys.tickAnnouncements, () => (asked++, running), logger);
    try {
      await wake.start();
      // Delivered in order: by the time the valid one is handled, the two before it were ignored.
      await t.redis.publish(t.keys.tickAnnouncements, 'not json');
      await t.redis.publish(t.keys.tickAnnouncements, JSON.stringify([{ symbol: 'MSFT' }]));
      await t.redis.publish(t.keys.tickAnnouncements, JSON.stringify([{ symbol: 'MSFT', version: 7 }, { symbol: 'GOOGL', version: 3 }]));
      await until('the wake', () => asked === 1 || undefined);
      expect([wake.heard('MSFT', 7), wake.heard('MSFT', 6), wake.heard('MSFT', 8), wake.heard('GOOGL', 3), wake.heard('IBM', 1)]).toEqual([true, true, false, true, false]);
      running = false;
      await t.redis.publish(t.keys.tickAnnouncements, JSON.stringify([{ symbol: 'MSFT', version: 8 }]));
      await until('the refill asked', () => asked === 2 || undefined);
      expect(wake.heard('MSFT', 8)).toBe(false);
      expect(asked).toBe(2);
    } finally {
      await wake.close();
    }
  });

  it("its fan-out job wakes the refill only when this process did not hear it", async () => {
    t = testRedis();
    let woken = 0;
    const heard = new Set(['MSFT@7']);
    d = await testDispatcher(t, sim);
    const fanout = createFanoutProcessor({
      store: d.store,
      queues: d.queues,
      wake: async () => void woken++,
      heard: (symbol, version) => heard.has(`${symbol}@${version}`),
    });
    await fanout({ symbol: 'MSFT', version: 7, tickedAt: 1 });
    expect(woken).toBe(0);
    await fanout({ symbol: 'MSFT', version: 8, tickedAt: 2 });
    expect(woken).toBe(1);
  });
});
