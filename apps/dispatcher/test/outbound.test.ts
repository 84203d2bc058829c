import { describe, expect, it } from 'vitest';
import { CUSTOMER_CARE_WINDOW_MS, outboundFor, type ChannelRules } from '../src/outbound.ts';

const rules: ChannelRules = { whatsappTemplate: { name: 'price_update', locale: 'en_US' }, messengerTag: 'ACCOUNT_UPDATE', viberTtlS: 600 };
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
