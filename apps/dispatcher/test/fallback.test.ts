import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PendingSignups, subscriberId, type Channel } from '@tickercast/shared';
import { specAvailable, validateRequestBody, validateStatusWebhook, warnIfSpecMissing } from '../../../test/support/openapi.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { tick } from '../../../test/support/dispatcher.ts';
import { startSystem, until, type TestSystem } from '../../../test/support/system.ts';

/*
 * Issue 16, channel failover, through the whole system: the phone's FALLBACK reaches the
 * dispatcher through the ingress, the fallback is kept in the subscriber's record, and the
 * Messages API's own failover (simulated) sends the SMS when WhatsApp rejects the message.
 */

warnIfSpecMissing();

const PHONE = '447700900123';
const PSID = '3333444455556666';
const OTHER = '447700900456';
let t: TestRedis;
let s: TestSystem;

beforeEach(async () => {
  t = testRedis();
  s = await startSystem(t);
  await s.d.prices.set('MSFT', 412.35);
});
afterEach(async () => {
  await s.close();
  await t.cleanup();
});

const shown = (channel: Channel, number: string) => s.shown(channel, number);
const says = (channel: Channel, number: string, text: string) => s.says(channel, number, text);
const record = (id: string) => t.redis.hgetall(s.d.keys.subscriber(id));

describe('FALLBACK SMS on WhatsApp', () => {
  it('uses the WhatsApp number; a rejected WhatsApp update then arrives by SMS, sent by the provider itself, and is counted', async () => {
    const id = subscriberId('whatsapp', PHONE);
    await says('whatsapp', PHONE, 'MSFT');
    expect(await says('whatsapp', PHONE, 'FALLBACK SMS')).toBe(`Done: when WhatsApp cannot deliver a message, it goes by SMS to +${PHONE}. FALLBACK OFF removes it.`);
    expect(await record(id)).toMatchObject({ fallbackChannel: 'sms', fallbackAddress: PHONE });
    // The SMS number is the same person's: it has its own record only once it writes; until then it has opted out of nothing.
    await s.d.store.touch('sms', PHONE);

    // WhatsApp no longer reaches this person; SMS still does.
    await s.sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { statusWebhooks: { failNumbers: { [`whatsapp:${PHONE}`]: { status: 'rejected', code: 1300 } } } } });
    await tick(s.d, 'MSFT', 413.55);

    await until('the update by SMS', async () => (await shown('sms', PHONE)).includes('MSFT 413.55 ▲ +1.20 (+0.29%)'));
    const [update] = s.sim.store.messages({ channel: 'whatsapp', to: PHONE }).slice(-1);
    expect(update!.status).toBe('rejected');
    expect(update!.request.failover).toEqual([expect.objectContaining({ channel: 'sms', to: PHONE, text: 'MSFT 413.55 ▲ +1.20 (+0.29%)' })]);
    if (specAvailable) expect(validateRequestBody(update!.request).errors).toEqual([]);
    // The dispatcher sent no SMS itself: one request, two legs.
    expect(s.sim.store.messages({ channel: 'sms' }).map((m) => m.workflow?.item)).toEqual([2]);

    // Both legs' statuses reached the system; the SMS leg is recorded for the WhatsApp subscriber and counted once.
    const leg = s.sim.store.messages({ channel: 'sms', to: PHONE })[0]!;
    await until('the SMS leg recorded as delivered', async () => (await s.d.deliveries.get(leg.messageUuid))?.state === 'delivered');
    expect(await s.d.deliveries.get(leg.messageUuid)).toMatchObject({ subscriberId: id, channel: 'sms' });
    expect((await s.d.deliveries.get(update!.messageUuid))?.state).toBe('rejected');
    await s.d.metrics.flush();
    expect(await t.redis.hget(s.d.keys.metricsCounters, 'tickercast_failovers_total|from=whatsapp,to=sms')).toBe('1');
    // The leg took its place on the SMS schedule in advance, though no SMS request of ours went.
    const smsWindow = await t.redis.zrange(s.d.keys.sendWindow('sms'), '0', '-1');
    expect(smsWindow.filter((member) => member.includes('|failover|'))).toHaveLength(1);
    if (specAvailable) {
      const hooks = s.sim.ctx.sender.recent().filter((r) => r.kind === 'status').map((r) => JSON.parse(r.body!) as unknown);
      for (const h of hooks) expect(validateStatusWebhook(h).errors).toEqual([]);
    }
  });

  it('a dead fallback number (the SMS leg barred, 1050) is removed and its owner told; they stay subscribed', async () => {
    const id = subscriberId('whatsapp', PHONE);
    await says('whatsapp', PHONE, 'MSFT');
    await says('whatsapp', PHONE, 'FALLBACK SMS');
    await s.d.store.touch('sms', PHONE);
    await s.sim.app.inject({
      method: 'PATCH',
      url: '/_sim/settings',
      payload: { statusWebhooks: { failNumbers: { [`whatsapp:${PHONE}`]: { status: 'rejected', code: 1300 }, [`sms:${PHONE}`]: { status: 'rejected', code: 1050 } } } },
    });
    await tick(s.d, 'MSFT', 413.55);

    const notice = `Your fallback SMS to +${PHONE} could not be delivered (the number is barred or opted out), so it is removed. FALLBACK SMS +number sets another.`;
    await until('the notice on WhatsApp', () => s.sim.store.messages({ channel: 'whatsapp', to: PHONE }).some((m) => m.display === notice));
    expect(s.sim.store.messages({ channel: 'sms', to: PHONE }).map((m) => [m.workflow?.item, m.status])).toEqual([[2, 'rejected']]);
    const after = await record(id);
    expect(after.fallbackChannel).toBeUndefined();
    expect(after.status).toBe('active');
    // The notice went without a failover of its own: there is none left.
    const sent = s.sim.store.messages({ channel: 'whatsapp', to: PHONE }).find((m) => m.display === notice)!;
    expect(sent.request.failover).toBeUndefined();
    // The SMS number's own record was not stopped: the dead number was the fallback, not a subscriber.
    expect((await record(subscriberId('sms', PHONE))).status).not.toBe('stopped');
  });

  it('a fallback number that sent STOP on SMS gets no failover legs', async () => {
    await says('whatsapp', PHONE, 'MSFT');
    await says('whatsapp', PHONE, 'FALLBACK SMS');
    await says('sms', PHONE, 'STOP');
    await says('whatsapp', PHONE, 'LIST');
    const [list] = s.sim.store.messages({ channel: 'whatsapp', to: PHONE }).slice(-1);
    expect(list!.request.failover).toBeUndefined();
  });
});

describe('FALLBACK SMS on Messenger, which gives no number', () => {
  it('needs a number, which must say YES; LIST and HELP show it; FALLBACK OFF removes it', async () => {
    const id = subscriberId('messenger', PSID);
    await says('messenger', PSID, 'MSFT');
    expect(await says('messenger', PSID, 'FALLBACK SMS')).toMatch(/^Messenger does not give us a number to text\. Send FALLBACK SMS \+447700900123/);
    expect(await says('messenger', PSID, 'fallback sms +44 7700 900456')).toBe(
      `We texted +${OTHER}: reply YES from that phone to get your Messenger messages there when Messenger cannot deliver them.`,
    );
    expect((await shown('sms', OTHER))[0]).toMatch(/^tickercast: someone on Messenger asked/);
    // Nothing is set until the number agrees.
    expect((await record(id)).fallbackAddress).toBeUndefined();

    expect(await says('sms', OTHER, 'YES')).toMatch(/^Confirmed: tickercast messages for your Messenger come here/);
    expect(await record(id)).toMatchObject({ fallbackChannel: 'sms', fallbackAddress: OTHER });
    expect(await says('messenger', PSID, 'LIST')).toBe(`You follow 1:\nMSFT 412.35\nFallback: SMS to +${OTHER}.`);
    expect(await says('messenger', PSID, 'HELP')).toMatch(new RegExp(`Fallback: SMS to \\+${OTHER}\\. FALLBACK OFF removes it\\.$`));

    expect(await says('messenger', PSID, 'FALLBACK OFF')).toBe('Fallback removed: messages go only here now.');
    expect(await record(id)).not.toHaveProperty('fallbackChannel');
    expect(await says('messenger', PSID, 'LIST')).toBe('You follow 1:\nMSFT 412.35');
  });

  it('the texts asking a number are paid for: the number has the web signup\'s daily budget, a person a few per hour', async () => {
    // SIGNUP_NUMBER_RATE_LIMIT (3 a day per number) and SIGNUP_RATE_LIMIT (5 an hour per requester), their defaults.
    for (let i = 0; i < 3; i++) expect(await says('messenger', PSID, `FALLBACK SMS +${OTHER}`)).toMatch(/^We texted/);
    await until('three asks on the phone', async () => ((await shown('sms', OTHER)).length === 3 ? true : undefined));
    expect(await says('messenger', PSID, `FALLBACK SMS +${OTHER}`)).toMatch(/^That number was sent several confirmations recently: nothing was sent\. Try again in \d+ hours\.$/);
    expect(await says('messenger', PSID, 'FALLBACK SMS +447700900457')).toMatch(/^We texted/);
    expect(await says('messenger', PSID, 'FALLBACK SMS +447700900458')).toMatch(/^You asked for several fallback numbers recently: nothing was sent\. Try again in \d+ minutes\.$/);
    // Nothing went to the numbers refused, and nothing more to the first.
    await new Promise((r) => setTimeout(r, 500));
    expect(await shown('sms', OTHER)).toHaveLength(3);
    expect(await shown('sms', '447700900458')).toEqual([]);
    expect(await shown('sms', '447700900457')).toHaveLength(1);
  });

  it('a web signup pending for the same number is kept beside the fallback request: one YES confirms both', async () => {
    // The number signed up on the web page (pending its YES), then someone on Messenger named it as their fallback.
    await new PendingSignups(t.redis, s.d.keys).create({ channel: 'sms', address: OTHER, symbols: ['MSFT'], ttlS: 3600 });
    await says('messenger', PSID, 'MSFT');
    expect(await says('messenger', PSID, `FALLBACK SMS +${OTHER}`)).toMatch(/^We texted/);

    const answer = await says('sms', OTHER, 'YES');
    expect(answer).toMatch(/^Subscribed to MSFT/);
    expect(answer).toMatch(/\nConfirmed: tickercast messages for your Messenger come here/);
    expect(await record(subscriberId('sms', OTHER))).toMatchObject({ status: 'active', 'sym:MSFT': expect.any(String) });
    expect(await record(subscriberId('messenger', PSID))).toMatchObject({ fallbackChannel: 'sms', fallbackAddress: OTHER });
    expect(await t.redis.exists(s.d.keys.pendingSignup(`sms:${OTHER}`), s.d.keys.pendingFallback(`sms:${OTHER}`))).toBe(0);
  });

  it('a NO answers both, and sets nothing', async () => {
    await new PendingSignups(t.redis, s.d.keys).create({ channel: 'sms', address: OTHER, symbols: ['MSFT'], ttlS: 3600 });
    await says('messenger', PSID, `FALLBACK SMS +${OTHER}`);
    expect(await says('sms', OTHER, 'NO')).toBe('OK, you will not be subscribed and we will not write again. Send a ticker any time to start.\nOK, this number will not be used.');
    expect((await record(subscriberId('messenger', PSID))).fallbackAddress).toBeUndefined();
    expect(await record(subscriberId('sms', OTHER))).not.toHaveProperty('sym:MSFT');
  });

  it('a NO from the number sets nothing', async () => {
    await says('messenger', PSID, 'FALLBACK SMS 447700900456');
    expect(await says('sms', OTHER, 'no')).toBe('OK, this number will not be used.');
    expect(await says('sms', OTHER, 'YES')).toMatch(/^tickercast: live prices/);
    expect((await record(subscriberId('messenger', PSID))).fallbackAddress).toBeUndefined();
  });
});

describe('bad FALLBACK commands', () => {
  it.each([
    ['FALLBACK', /not understood: FALLBACK needs a channel/],
    ['FALLBACK WHATSAPP', /not understood: "WHATSAPP" is not a fallback we offer \(only SMS\)/],
    ['FALLBACK SMS call me', /not understood: "CALL ME" is not a phone number/],
    ['FALLBACK SMS 12345', /not understood: "12345" is not a phone number with its country code/],
    ['FALLBACK OFF please', /not understood: "PLEASE" after FALLBACK OFF/],
  ])('%s gets a short reply naming it and the right form, and changes nothing', async (text, problem) => {
    const id = subscriberId('messenger', PSID);
    await says('messenger', PSID, 'MSFT');
    const before = await record(id);
    const reply = await says('messenger', PSID, text);
    expect(reply).toMatch(problem);
    expect(reply).toMatch(/Send FALLBACK SMS \+447700900123 \(your number\), or FALLBACK OFF\. Nothing changed\.$/);
    const after = await record(id);
    expect({ ...after, updatedAt: '', lastInboundAt: '' }).toEqual({ ...before, updatedAt: '', lastInboundAt: '' });
    expect(await shown('sms', OTHER)).toEqual([]);
  });

  it('FALLBACK SMS on SMS says so and changes nothing', async () => {
    expect(await says('sms', PHONE, 'FALLBACK SMS')).toMatch(/^You are on SMS already/);
    expect(await record(subscriberId('sms', PHONE))).not.toHaveProperty('fallbackChannel');
  });
});
