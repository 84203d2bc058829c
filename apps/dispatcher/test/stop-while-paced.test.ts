import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriberId } from '@tickercast/shared';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A price send that passed its subscription check and then waits for its slot on the channel's
 * schedule (half a second at 2/s) must not go out if the person said STOP meanwhile.
 */
describe('STOP while a price send waits for its slot', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator();
    t = testRedis();
    d = await testDispatcher(t, sim, { concurrency: 5, offered: ['MSFT'], rates: { sms: 2, whatsapp: 2, messenger: 2, viber_service: 2 } });
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  it('is not sent', async () => {
    const people = ['447700905001', '447700905002'];
    for (const p of people) await d.store.subscribe('sms', p, ['MSFT']);
    const q = await d.prices.set('MSFT', 321);
    await d.queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: Date.now() });

    // The first send goes at once; the other is now waiting for the next slot, ~0.5 s off.
    const [first] = await until('the first price', () => (sim.store.messages().length > 0 ? sim.store.messages() : undefined));
    const other = people.find((p) => p !== first!.to)!;
    await until('the other send holds its slot', async () => (await d.queues.send.sms.getActiveCount()) === 1);
    await d.store.stop(subscriberId('sms', other));

    await until('the other send finished', async () => (await d.queues.send.sms.getCompletedCount()) === 2, 5000);
    expect(sim.store.messages({ to: other })).toHaveLength(0);
    const [job] = (await d.queues.send.sms.getCompleted()).filter((j) => j.data.subscriberId === subscriberId('sms', other));
    expect(job!.returnvalue).toMatchObject({ sent: false, reason: 'not subscribed' });
  });
});
