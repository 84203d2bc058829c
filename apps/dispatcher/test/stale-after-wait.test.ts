import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { senderFor, subscriberId } from '@tickercast/shared';
import { outboundSettings } from '../src/outbound.ts';
import { createSendProcessor, type Pace } from '../src/send.ts';
import { testConfig, testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

/*
 * A feed send reads the prices when it starts, then may wait: for its slot on the channel's
 * schedule, or for Redis (a cluster primary failing over: docs/reliability.md §10). If a newer
 * price is written meanwhile, the send must go with it, not the old one: the old one could reach
 * the person after an update that carries the newer price, and leave them on the old one.
 */
describe('a feed send that waited', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;

  beforeAll(async () => {
    sim = await startSimulator();
    t = testRedis();
  });
  afterAll(async () => {
    await d?.close();
    await t.cleanup();
    await sim.close();
  });

  it('goes with the newer price when one was written while it waited, never with the one it read', async () => {
    const phone = '447700900811';
    const id = subscriberId('sms', phone);
    d = await testDispatcher(t, sim, { offered: ['MSFT'] });
    // The processor alone, with a pace the test controls: no worker or refill of the dispatcher's runs.
    await d.stopWorkers();
    const config = testConfig(t, { offered: ['MSFT'] });
    const send = createSendProcessor({
      client: d.client,
      store: d.store,
      prices: d.prices,
      lastSent: d.lastSent,
      due: d.due,
      alerts: d.alerts,
      deliveries: d.deliveries,
      senders: senderFor(config),
      outbound: outboundSettings(config),
    });
    await d.store.subscribe('sms', phone, ['MSFT'], Date.now() - 60_000);
    await d.prices.set('MSFT', 101);

    // The slot comes after a wait, during which the next tick writes 102.
    const slowSlot: Pace = async () => {
      await d.prices.set('MSFT', 102);
      await new Promise((r) => setTimeout(r, 80));
      return { waitedMs: 80 };
    };
    expect(await send({ kind: 'feed', subscriberId: id }, 'feed-1', slowSlot)).toMatchObject({ kind: 'sent', text: 'MSFT 102.00' });
    expect(sim.store.messages({ to: phone }).map((m) => m.display)).toEqual(['MSFT 102.00']);
    expect((await d.store.get(id as `sms:${string}`)) && (await d.lastSent.feedState(id)).previous.get('MSFT')?.price).toBe(102);
    // Served up to the read that found 102: not due again until a newer price.
    expect(await d.due.due('sms', await d.prices.writeTimes(), 10)).not.toContain(id);

    // A send whose slot came at once goes with what it read.
    await d.prices.set('MSFT', 103);
    const promptSlot: Pace = async () => ({ waitedMs: 0 });
    expect(await send({ kind: 'feed', subscriberId: id }, 'feed-2', promptSlot)).toMatchObject({ kind: 'sent', text: 'MSFT 103.00 ▲ +1.00 (+0.98%)' });
  });
});
