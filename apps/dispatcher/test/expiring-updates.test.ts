import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subscriberId, type Channel } from '@tickercast/shared';
import type { AcceptedMessage } from '../../../apps/simulator/src/store.ts';
import { specAvailable, validateRequestBody, validateStatusWebhook, warnIfSpecMissing } from '../../../test/support/openapi.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { tick as tickSymbol } from '../../../test/support/dispatcher.ts';
import { startSystem, until, type TestSystem } from '../../../test/support/system.ts';

/*
 * Issue 16: a price update the network cannot deliver in time is worthless, so every price
 * message carries a ttl where its channel takes one (SMS, Viber); replies do not expire so fast.
 * Through the whole system: the phone texts the ingress, the dispatcher sends to the simulator,
 * whose status webhooks come back through the ingress.
 */

warnIfSpecMissing();

const PHONE = '447700900123';
const TICK_MS = 20_000;

let t: TestRedis;
let s: TestSystem;

beforeEach(async () => {
  t = testRedis();
  // A 20 s tick: three ticks are 60 s, inside both channels' ttl range, so nothing is rounded up to a minimum.
  s = await startSystem(t, { env: { TICK_INTERVAL_MS: String(TICK_MS), PRICE_TTL_S: '600', VIBER_TTL_S: '900' } });
  await s.d.prices.set('MSFT', 412.35);
});
afterEach(async () => {
  await s.close();
  await t.cleanup();
});

const sent = (channel: Channel, to = PHONE): AcceptedMessage[] => s.sim.store.messages({ channel, to });

const tick = (price: number) => tickSymbol(s.d, 'MSFT', price);

/** The ttl a request carried, wherever its channel puts it. */
function ttlOf(m: AcceptedMessage): number | undefined {
  const r = m.request as { ttl?: number; viber_service?: { ttl?: number } };
  return m.channel === 'viber_service' ? r.viber_service?.ttl : r.ttl;
}

describe('price updates expire; replies do not', () => {
  it.each<[Channel, number | undefined]>([
    // SMS replies go with the provider's own default (72 hours); Viber's keep VIBER_TTL_S.
    ['sms', undefined],
    ['viber_service', 900],
  ])('on %s the update carries a ttl of three ticks, the confirmation does not', async (channel, replyTtl) => {
    await s.text(channel, PHONE, 'MSFT');
    await until('the confirmation', () => sent(channel).length === 1);
    await tick(413.55);
    await until('the update', () => sent(channel).length === 2);

    const [confirmation, update] = sent(channel);
    expect(confirmation!.display).toMatch(/^Subscribed to MSFT/);
    expect(ttlOf(confirmation!)).toBe(replyTtl);
    expect(update!.display).toBe('MSFT 413.55 ▲ +1.20 (+0.29%)');
    expect(ttlOf(update!)).toBe((3 * TICK_MS) / 1000);
    if (specAvailable) {
      for (const m of [confirmation!, update!]) expect(validateRequestBody(m.request).errors).toEqual([]);
    }
  });

  it('WhatsApp takes no ttl: none is sent', async () => {
    await s.text('whatsapp', PHONE, 'MSFT');
    await until('the confirmation', () => sent('whatsapp').length === 1);
    await tick(413.55);
    await until('the update', () => sent('whatsapp').length === 2);
    expect(sent('whatsapp').map((m) => 'ttl' in m.request)).toEqual([false, false]);
  });

  it('an update the network holds past its ttl never reaches the phone, and the system hears that it expired', async () => {
    await s.text('sms', PHONE, 'MSFT');
    await until('the confirmation', () => sent('sms').length === 1);
    // The phone is out of reach for two minutes: longer than the update's 60 s, far shorter than a reply's 72 hours.
    await s.sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { statusWebhooks: { deliveryDelayMs: 120_000 } } });
    await tick(413.55);
    const update = (await until('the update', () => sent('sms')[1]));
    expect(ttlOf(update)).toBe(60);

    const record = await until('the expiry reported back', async () => {
      const r = await s.d.deliveries.get(update.messageUuid);
      return r?.state === 'undeliverable' ? r : undefined;
    });
    expect(record.subscriberId).toBe(subscriberId('sms', PHONE));
    expect(record.error).toMatch(/1360/);
    const shown = (await s.conversation('sms', PHONE)).filter((e) => e.direction === 'out').map((e) => e.text);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^Subscribed to MSFT/);

    // What Vonage would post: submitted, then undeliverable with its error object.
    const hooks = s.sim.ctx.sender.recent().filter((r) => r.kind === 'status').map((r) => JSON.parse(r.body!) as { message_uuid: string; status: string; error?: { type: string } });
    const ofUpdate = hooks.filter((h) => h.message_uuid === update.messageUuid);
    expect(ofUpdate.map((h) => h.status)).toEqual(['submitted', 'undeliverable']);
    expect(ofUpdate[1]!.error?.type).toMatch(/#1360$/);
    if (specAvailable) for (const h of ofUpdate) expect(validateStatusWebhook(h).errors).toEqual([]);

    // A reply still arrives: it has no ttl to outlast.
    await s.text('sms', PHONE, 'LIST');
    await until('the LIST reply on the phone', async () => (await s.conversation('sms', PHONE)).filter((e) => e.direction === 'out').length === 2);
  });
});
