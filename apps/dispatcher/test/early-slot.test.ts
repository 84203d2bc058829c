import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriberId } from '@tickercast/shared';
import { testDispatcher, tick, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A feed send takes its slot as it starts, beside its reads, while the channel has slots to
 * spare (SendPacer.early). One that then finds nothing to send gives the place back like any
 * other: no request of its counts against the rate.
 */
describe('a feed send whose slot was taken early', () => {
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

  const redisNow = async () => {
    const [s, us] = await t.redis.time();
    return Number(s) * 1000 + Number(us) / 1000;
  };

  it('and then skipped (the price unchanged) took a slot on the schedule and holds no place in the window', async () => {
    const phone = '447700905101';
    await d.store.subscribe('sms', phone, ['MSFT']);
    await tick(d, 'MSFT', 321);
    await until('the price', () => sim.store.messages({ to: phone }).length === 1);
    const scheduleAfterFirst = Number(await t.redis.get(d.keys.sendPacing('sms')));

    // The same price again: they are due on its write, and their send finds nothing new.
    await tick(d, 'MSFT', 321);
    const skipped = await until('the second send skipped', async () => {
      const done = (await d.queues.send.sms.getCompleted()).filter((j) => j.data.subscriberId === subscriberId('sms', phone));
      return done.find((j) => (j.returnvalue as { reason?: string } | undefined)?.reason === 'price unchanged');
    });
    expect(skipped).toBeDefined();
    expect(sim.store.messages({ to: phone })).toHaveLength(1);
    // Its slot was taken before it knew (the schedule moved on)...
    expect(Number(await t.redis.get(d.keys.sendPacing('sms')))).toBeGreaterThan(scheduleAfterFirst);
    // ...and its place given back: none of the window's places still counts as in flight (one
    // not given back would, for the client's timeout and a second more: 11 s).
    await until(
      'the places given back',
      async () => {
        const flat = await t.redis.zrange(d.keys.sendWindow('sms'), '0', '-1', 'WITHSCORES');
        const now = await redisNow();
        return flat.length === 4 && flat.every((v, i) => i % 2 === 0 || Number(v) <= now);
      },
      2000,
    );
  });
});
