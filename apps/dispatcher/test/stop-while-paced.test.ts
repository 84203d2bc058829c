import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriberId } from '@tickercast/shared';
import { testDispatcher, tick, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * Feed sends on a channel paced at 2/s: a slot is half a second from the one before it.
 */
describe('feed sends paced at 2/s', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator();
    t = testRedis();
    d = await testDispatcher(t, sim, { concurrency: 5, offered: ['MSFT', 'IBM'], rates: { sms: 2, whatsapp: 2, messenger: 2, viber_service: 2 } });
  });
  afterAll(async () => {
    await d.close();
    await t.cleanup();
    await sim.close();
  });

  // A price send that passed its subscription check and then waits for its slot must not go out
  // if the person said STOP meanwhile.
  it('a STOP while one waits for its slot: it is not sent', async () => {
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

  // A feed send takes its slot as it starts, beside its reads, while the channel has slots to
  // spare (SendPacer.early). One that then finds nothing to send gives the place back like any
  // other: no request of its counts against the rate.
  it('one skipped (the price unchanged) after taking its slot early took a slot on the schedule and holds no place in the window', async () => {
    const phone = '447700905101';
    const id = subscriberId('sms', phone);
    await d.store.subscribe('sms', phone, ['IBM']);
    await tick(d, 'IBM', 321);
    await until('the price', () => sim.store.messages({ to: phone }).length === 1);
    const scheduleAfterFirst = Number(await t.redis.get(d.keys.sendPacing('sms')));

    // The same price again: they are due on its write, and their send finds nothing new.
    await tick(d, 'IBM', 321);
    const skipped = await until('the second send skipped', async () => {
      const done = (await d.queues.send.sms.getCompleted()).filter((j) => j.data.subscriberId === id);
      return done.find((j) => (j.returnvalue as { reason?: string } | undefined)?.reason === 'price unchanged');
    });
    expect(skipped).toBeDefined();
    expect(sim.store.messages({ to: phone })).toHaveLength(1);
    // Its slot was taken before it knew (the schedule moved on)...
    expect(Number(await t.redis.get(d.keys.sendPacing('sms')))).toBeGreaterThan(scheduleAfterFirst);
    // ...and both sends' places given back: none still counts as in flight (one not given back
    // would, for the client's timeout and a second more: 11 s).
    const jobIds = (await d.queues.send.sms.getCompleted()).filter((j) => j.data.subscriberId === id).map((j) => j.id!);
    expect(jobIds).toHaveLength(2);
    await until(
      'the places given back',
      async () => {
        const flat = await t.redis.zrange(d.keys.sendWindow('sms'), '0', '-1', 'WITHSCORES');
        const [s, us] = await t.redis.time();
        const now = Number(s) * 1000 + Number(us) / 1000;
        const ours = jobIds.map((j) => flat.findIndex((m, i) => i % 2 === 0 && m.startsWith(`${j}|`)));
        return ours.every((i) => i >= 0 && Number(flat[i + 1]) <= now);
      },
      2000,
    );
  });
});
