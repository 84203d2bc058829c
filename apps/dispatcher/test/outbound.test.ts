import { describe, expect, it } from 'vitest';
import { MESSAGES_API_CHANNELS, outboundMessageSchema } from '@tickercast/messages-client';
import { CHANNEL_RULES, CHANNELS, fitReplyText, REPLY_TEXT_MAX, sendJobSchema } from '@tickercast/shared';
import { outboundFor, priceTtlS, type OutboundSettings } from '../src/outbound.ts';

const CUSTOMER_CARE_WINDOW_MS = MESSAGES_API_CHANNELS.whatsapp.customerCareWindowMs;
const rules: OutboundSettings = { whatsappTemplate: { name: 'price_update', locale: 'en_US' }, whatsappOptInTemplate: 'optin', messengerTag: 'ACCOUNT_UPDATE', viberTtlS: 600, priceTtl: { maxS: 600, tickMs: 5000 } };
const now = Date.UTC(2026, 10, 24, 12);
const base = { to: '447700900123', from: '447700900000', text: 'MSFT 412.35', clientRef: 'job-1', now };

describe('outboundFor', () => {
  it('SMS is always text', () => {
    expect(outboundFor({ ...base, channel: 'sms', lastInboundAt: undefined }, rules)).toEqual({
      send: { channel: 'sms', to: base.to, from: base.from, text: base.text, clientRef: 'job-1' },
    });
  });

  it('WhatsApp: text inside the window, the template outside it and for a first contact', () => {
    const inside = outboundFor({ ...base, channel: 'whatsapp', lastInboundAt: now - CUSTOMER_CARE_WINDOW_MS + 60_000 }, rules);
    expect(inside).toEqual({ send: expect.objectContaining({ text: base.text }) });
    for (const lastInboundAt of [now - CUSTOMER_CARE_WINDOW_MS, undefined]) {
      const outside = outboundFor({ ...base, channel: 'whatsapp', lastInboundAt }, rules);
      expect(outside).toEqual({
        send: expect.objectContaining({ template: { name: 'price_update', locale: 'en_US', parameters: [base.text] } }),
      });
    }
  });

  it("WhatsApp: a web signup's request for a YES goes as the opt-in template outside the window, as text inside it", () => {
    const outside = outboundFor({ ...base, channel: 'whatsapp', lastInboundAt: undefined, optIn: true }, rules);
    expect(outside).toEqual({ send: expect.objectContaining({ template: { name: 'optin', locale: 'en_US', parameters: [base.text] } }) });
    const inside = outboundFor({ ...base, channel: 'whatsapp', lastInboundAt: now - 1000, optIn: true }, rules);
    expect(inside).toEqual({ send: expect.objectContaining({ text: base.text }) });
  });

  it('Messenger: a response inside the window, the configured tag outside, nothing without a tag', () => {
    expect(outboundFor({ ...base, channel: 'messenger', lastInboundAt: now - 1000 }, rules)).toEqual({
      send: expect.objectContaining({ category: 'response' }),
    });
    expect(outboundFor({ ...base, channel: 'messenger', lastInboundAt: undefined }, rules)).toEqual({
      send: expect.objectContaining({ category: 'message_tag', tag: 'ACCOUNT_UPDATE' }),
    });
    const none = outboundFor({ ...base, channel: 'messenger', lastInboundAt: undefined }, { ...rules, messengerTag: undefined });
    expect(none).toHaveProperty('skip');
  });

  it('Viber: a transactional service message with the TTL', () => {
    expect(outboundFor({ ...base, channel: 'viber_service', lastInboundAt: undefined }, rules)).toEqual({
      send: expect.objectContaining({ category: 'transaction', ttl: 600 }),
    });
  });
});

describe('outboundFor follows the channel table', () => {
  const outside = now - 2 * CUSTOMER_CARE_WINDOW_MS;
  const kindOf = (channel: (typeof CHANNELS)[number], lastInboundAt: number | undefined, tag: string | undefined) => {
    const d = outboundFor({ ...base, channel, lastInboundAt }, { ...rules, messengerTag: tag });
    if ('skip' in d) return 'nothing';
    return 'template' in d.send ? 'template' : 'category' in d.send && d.send.category === 'message_tag' ? 'message tag' : 'text';
  };

  it.each(CHANNELS)("%s: outside the window, what CHANNEL_RULES' outsideWindow says", (channel) => {
    const expected = {
      'no window': ['text', 'text'],
      template: ['template', 'template'],
      'message tag or nothing': ['message tag', 'nothing'],
    }[CHANNEL_RULES[channel].outsideWindow];
    expect([kindOf(channel, outside, 'ACCOUNT_UPDATE'), kindOf(channel, outside, undefined)]).toEqual(expected);
  });

  it.each(CHANNELS)('%s: inside the window (or where there is none) free text', (channel) => {
    expect(kindOf(channel, now - 1000, undefined)).toBe('text');
  });

  it.each(CHANNELS)('%s: a window exactly where the Messages API has one', (channel) => {
    const hasWindow = MESSAGES_API_CHANNELS[channel].customerCareWindowMs !== undefined;
    expect(CHANNEL_RULES[channel].outsideWindow === 'no window').toBe(!hasWindow);
  });
});

describe('reply lengths (issue 19 item 10)', () => {
  it.each(CHANNELS)('%s: a reply of REPLY_TEXT_MAX characters is a message the client accepts, in and out of the window', (channel) => {
    const text = fitReplyText(channel, 'x '.repeat(5000));
    expect(text.length).toBeLessThanOrEqual(REPLY_TEXT_MAX[channel]);
    expect(sendJobSchema.safeParse({ kind: 'reply', subscriberId: `${channel}:1`, text }).success).toBe(true);
    for (const lastInboundAt of [now - 1000, undefined]) {
      const decision = outboundFor({ ...base, channel, text, lastInboundAt }, rules);
      if ('send' in decision) expect(outboundMessageSchema.safeParse(decision.send).success, `${channel} ${lastInboundAt}`).toBe(true);
    }
    // One character more would be refused somewhere: the limit is the channel's, not a guess below it.
    const over = 'y'.repeat(REPLY_TEXT_MAX[channel] + 1);
    const refused = outboundMessageSchema.safeParse((outboundFor({ ...base, channel, text: over, lastInboundAt: now - 1000 }, rules) as { send: unknown }).send).success === false
      || sendJobSchema.safeParse({ kind: 'reply', subscriberId: `${channel}:1`, text: over }).success === false;
    expect(refused).toBe(true);
  });

  it('a text that fits is left alone; a longer one is cut at a word and says so', () => {
    expect(fitReplyText('sms', 'Subscribed to MSFT.')).toBe('Subscribed to MSFT.');
    const long = `Not on offer: ${Array.from({ length: 300 }, (_, i) => `T${i}`).join(', ')}.`;
    const fitted = fitReplyText('messenger', long);
    expect(fitted.length).toBeLessThanOrEqual(REPLY_TEXT_MAX.messenger);
    expect(fitted.endsWith('…')).toBe(true);
    const kept = fitted.slice(0, -1);
    expect(long.startsWith(kept)).toBe(true);
    // Cut between words, never inside a ticker.
    expect(long[kept.length]).toMatch(/\s/);
  });
});

describe('priceTtlS: how long a price update may wait at the provider', () => {
  it('is the EVERY interval when one is set, bounded by PRICE_TTL_S', () => {
    expect(priceTtlS('sms', 120_000, rules)).toBe(120);
    expect(priceTtlS('viber_service', 120_000, rules)).toBe(120);
    expect(priceTtlS('sms', 3_600_000, rules)).toBe(600);
  });

  it('is three ticks without one, raised to what the channel takes at least', () => {
    expect(priceTtlS('sms', undefined, { priceTtl: { maxS: 600, tickMs: 10_000 } })).toBe(30);
    // 15 s: SMS takes 20 at least, Viber 30.
    expect(priceTtlS('sms', undefined, rules)).toBe(MESSAGES_API_CHANNELS.sms.ttlS.min);
    expect(priceTtlS('viber_service', undefined, rules)).toBe(MESSAGES_API_CHANNELS.viber_service.ttlS.min);
  });

  it('is undefined where the channel takes no ttl', () => {
    expect(priceTtlS('whatsapp', 120_000, rules)).toBeUndefined();
    expect(priceTtlS('messenger', undefined, rules)).toBeUndefined();
  });

  it('goes on SMS and Viber messages; a Viber message without it keeps VIBER_TTL_S', () => {
    expect(outboundFor({ ...base, channel: 'sms', lastInboundAt: undefined, ttlS: 45 }, rules)).toEqual({ send: expect.objectContaining({ ttl: 45 }) });
    expect(outboundFor({ ...base, channel: 'viber_service', lastInboundAt: undefined, ttlS: 45 }, rules)).toEqual({ send: expect.objectContaining({ ttl: 45 }) });
    expect(outboundFor({ ...base, channel: 'viber_service', lastInboundAt: undefined }, rules)).toEqual({ send: expect.objectContaining({ ttl: 600 }) });
    expect(outboundFor({ ...base, channel: 'whatsapp', lastInboundAt: undefined, ttlS: 45 }, rules)).toEqual({ send: expect.not.objectContaining({ ttl: 45 }) });
  });
});
