import { describe, expect, it } from 'vitest';
import { API_CHANNELS, MESSAGES_API_CHANNELS } from '@tickercast/messages-client';
import { CHANNEL_RULES, CHANNELS, channelSchema, loadConfig, ratesFor, REPLY_TEXT_MAX, senderFor, SIGNUP_CHANNELS } from '@tickercast/shared';

describe('CHANNEL_RULES', () => {
  it('serves SMS, WhatsApp, Messenger and Viber, each a Messages API channel', () => {
    expect(CHANNELS).toEqual(['sms', 'whatsapp', 'messenger', 'viber_service']);
    expect(channelSchema.options).toEqual(CHANNELS);
    for (const c of CHANNELS) expect(API_CHANNELS).toContain(c);
  });

  it('names each channel to people', () => {
    expect(CHANNELS.map((c) => CHANNEL_RULES[c].label)).toEqual(['SMS', 'WhatsApp', 'Messenger', 'Viber']);
  });

  it.each(CHANNELS)('%s: a reply never longer than the provider takes', (channel) => {
    expect(CHANNEL_RULES[channel].replyTextMax).toBeLessThanOrEqual(MESSAGES_API_CHANNELS[channel].textMax);
    expect(REPLY_TEXT_MAX[channel]).toBe(CHANNEL_RULES[channel].replyTextMax);
  });

  it('web signup on the phone channels only: SMS, WhatsApp, Viber', () => {
    expect(SIGNUP_CHANNELS).toEqual(['sms', 'whatsapp', 'viber_service']);
    for (const c of SIGNUP_CHANNELS) expect(MESSAGES_API_CHANNELS[c].address).toBe('phone number');
  });

  it.each(CHANNELS)('%s: its rate and sender are the config variables it names', (channel) => {
    const { rateVar, senderVar } = CHANNEL_RULES[channel];
    const config = loadConfig({ [rateVar]: '7', [senderVar]: '447700900999' });
    expect(ratesFor(config)[channel]).toBe(7);
    expect(senderFor(config)[channel]).toBe('447700900999');
    for (const other of CHANNELS.filter((c) => c !== channel)) {
      expect(ratesFor(config)[other]).not.toBe(7);
      expect(senderFor(config)[other]).not.toBe('447700900999');
    }
  });

  it('the default rates', () => {
    expect(ratesFor(loadConfig({}))).toEqual({ sms: 30, whatsapp: 20, messenger: 30, viber_service: 30 });
  });

  it("the simulator's limits take every Messages API channel and the account, VIBER_TTL_S Viber's ttl range", () => {
    expect(loadConfig({ SIMULATOR_RATE_LIMITS: 'sms=1,mms=2,whatsapp=3,messenger=4,viber_service=5,all=6' }).SIMULATOR_RATE_LIMITS).toEqual({
      sms: 1, mms: 2, whatsapp: 3, messenger: 4, viber_service: 5, all: 6,
    });
    expect(() => loadConfig({ SIMULATOR_RATE_LIMITS: 'rcs=1' })).toThrow();
    const { min, max } = MESSAGES_API_CHANNELS.viber_service.ttlS;
    expect(loadConfig({ VIBER_TTL_S: String(min) }).VIBER_TTL_S).toBe(min);
    expect(loadConfig({ VIBER_TTL_S: String(max) }).VIBER_TTL_S).toBe(max);
    expect(() => loadConfig({ VIBER_TTL_S: String(min - 1) })).toThrow();
    expect(() => loadConfig({ VIBER_TTL_S: String(max + 1) })).toThrow();
  });
});
