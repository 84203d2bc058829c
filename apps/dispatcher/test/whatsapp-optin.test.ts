import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subscriberId } from '@tickercast/shared';
import { specAvailable, validateRequestBody, warnIfSpecMissing } from '../../../test/support/openapi.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSystem, until, type TestSystem } from '../../../test/support/system.ts';

/*
 * Issue 16: a web signup on WhatsApp reaches a person who has never written to us, so only a
 * template may go; it is the opt-in template of its own (WHATSAPP_OPTIN_TEMPLATE_NAME), not the
 * price template. Through the signup page, the dispatcher, the simulator's phone and back.
 */

warnIfSpecMissing();

const PHONE = '447700900123';
let t: TestRedis;
let s: TestSystem;

beforeEach(async () => {
  t = testRedis();
  s = await startSystem(t, { env: { WHATSAPP_TEMPLATE_NAME: 'price_update', WHATSAPP_OPTIN_TEMPLATE_NAME: 'signup_optin' } });
  await s.d.prices.set('MSFT', 412.35);
});
afterEach(async () => {
  await s.close();
  await t.cleanup();
});

const sent = () => s.sim.store.messages({ channel: 'whatsapp', to: PHONE });

describe('the WhatsApp web signup', () => {
  it('asks for the YES with the opt-in template; the YES subscribes, and the answer is free text in the window it opened', async () => {
    const page = await s.ingress.inject({
      method: 'POST',
      url: '/signup',
      payload: `channel=whatsapp&number=${encodeURIComponent(`+${PHONE}`)}&tickers=MSFT`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(page.statusCode).toBe(200);

    const [ask] = await until('the confirmation request', () => (sent().length === 1 ? sent() : undefined));
    expect(ask!.request).toMatchObject({ message_type: 'template', template: { name: 'signup_optin' }, whatsapp: { locale: 'en_GB' } });
    expect((ask!.request as { template: { parameters: string[] } }).template.parameters[0]).toMatch(/^Reply YES to get MSFT price updates/);
    if (specAvailable) expect(validateRequestBody(ask!.request).errors).toEqual([]);
    // A template reaches a phone that never wrote: the phone shows it.
    await until('delivered', () => ask!.status === 'delivered' || ask!.status === 'read');
    expect((await s.conversation('whatsapp', PHONE))[0]?.text).toBe(`[template signup_optin] ${(ask!.request as { template: { parameters: string[] } }).template.parameters[0]}`);

    await s.text('whatsapp', PHONE, 'YES');
    const [, answer] = await until('the subscription confirmed', () => (sent().length === 2 ? sent() : undefined));
    expect(answer!.request).toMatchObject({ message_type: 'text' });
    expect(answer!.display).toMatch(/^Subscribed to MSFT/);
    expect(await s.d.store.isSubscribed(subscriberId('whatsapp', PHONE), 'MSFT')).toBe(true);
  });
});
