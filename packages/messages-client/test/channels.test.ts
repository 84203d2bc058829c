import { describe, expect, it } from 'vitest';
import {
  API_CHANNELS,
  MESSAGES_API_CHANNELS,
  MessageValidationError,
  buildRequestBody,
  normalizeAddress,
  outboundMessageSchema,
  type ApiChannel,
  type OutboundMessage,
} from '@tickercast/messages-client';
import { SCHEMAS_BY_CHANNEL, validateRequest } from '../../../apps/simulator/src/request-schema.ts';

const PHONE = '447700900123';
const PSID = '5548213098765432';

/** A message the client would send on `channel` to `to`, with `text` where the channel carries text. */
function message(channel: ApiChannel, to: string, text = 'hi'): OutboundMessage {
  switch (channel) {
    case 'sms':
      return { channel, to, from: '447700900000', text };
    case 'mms':
      return { channel, to, from: '447700900000', image: { url: 'https://example.com/a.png' } };
    case 'whatsapp':
      return { channel, to, from: '447700900001', text };
    case 'messenger':
      return { channel, to, from: '107083064136738', text };
    case 'viber_service':
      return { channel, to, from: '16273', text };
  }
}

describe('normalizeAddress: the one answer to "is this address valid on this channel"', () => {
  const phoneChannels = API_CHANNELS.filter((c) => MESSAGES_API_CHANNELS[c].address === 'phone number');

  it('the phone channels are every channel but Messenger', () => {
    expect(phoneChannels).toEqual(['sms', 'mms', 'whatsapp', 'viber_service']);
  });

  describe.each(phoneChannels)('%s (a phone number, E.164 without +)', (channel) => {
    it.each([
      [PHONE, PHONE],
      [`+${PHONE}`, PHONE],
      [`00${PHONE}`, PHONE],
      [` +14155550101 `, '14155550101'],
    ])('accepts %j as %s', (input, expected) => {
      expect(normalizeAddress(channel, input)).toBe(expected);
    });
    it.each([
      ['a national number with a trunk 0', '07700900123'],
      ['too few digits', '123456'],
      ['too many digits', '4477009001234567'],
      ['letters', 'call me'],
      ['spaces inside', '+44 7700 900123'],
      ['an empty string', ''],
    ])('refuses %s (%j)', (_why, input) => {
      expect(normalizeAddress(channel, input)).toBeUndefined();
    });
  });

  describe('messenger (a page-scoped id, exactly as Meta gives it)', () => {
    it.each([PSID, '107083064136738', '12345'])('accepts %j as it is', (input) => {
      expect(normalizeAddress('messenger', input)).toBe(input);
    });
    it.each([
      ['a + in front', `+${PSID}`],
      ['surrounding space (the admin API trims what operators paste; the client does not)', ` ${PSID} `],
      ['a hyphen', '5548-2130'],
      ['too short', '1234'],
      ['too long', '1'.repeat(33)],
      ['letters', 'me'],
      ['an empty string', ''],
    ])('refuses %s', (_why, input) => {
      expect(normalizeAddress('messenger', input)).toBeUndefined();
    });
  });

  it.each(API_CHANNELS)('%s: the client sends to the address normalizeAddress gives, and refuses what it refuses', (channel) => {
    const good = channel === 'messenger' ? PSID : `+${PHONE}`;
    expect(buildRequestBody(message(channel, good)).to).toBe(normalizeAddress(channel, good));
    expect(() => buildRequestBody(message(channel, channel === 'messenger' ? `+${PSID}` : '07700900123'))).toThrow(MessageValidationError);
  });
});

describe('MESSAGES_API_CHANNELS', () => {
  it('names exactly the channels the client builds messages for', () => {
    const schemaChannels = new Set(outboundMessageSchema.options.map((o) => o.shape.channel.value));
    expect([...schemaChannels].sort()).toEqual([...API_CHANNELS].sort());
  });

  // Checked against the simulator's own statement of what Vonage takes, which this table does not feed.
  it('names the channels the simulator (as Vonage) takes', () => {
    expect(Object.keys(SCHEMAS_BY_CHANNEL).sort()).toEqual([...API_CHANNELS].sort());
  });

  /** Whether Vonage (the simulator) takes the body the client builds; false when either refuses. */
  const taken = (m: OutboundMessage) => {
    try {
      return validateRequest(buildRequestBody(m)).ok;
    } catch (err) {
      if (err instanceof MessageValidationError) return false;
      throw err;
    }
  };

  it.each(API_CHANNELS.filter((c) => MESSAGES_API_CHANNELS[c].textMax !== undefined))('%s: a text of textMax characters is taken, one more is refused', (channel) => {
    const max = MESSAGES_API_CHANNELS[channel].textMax!;
    const to = channel === 'messenger' ? PSID : PHONE;
    expect(taken(message(channel, to, 'x'.repeat(max)))).toBe(true);
    expect(validateRequest({ ...buildRequestBody(message(channel, to)), text: 'x'.repeat(max + 1) }).ok).toBe(false);
    expect(taken(message(channel, to, 'x'.repeat(max + 1)))).toBe(false);
  });

  it.each(API_CHANNELS.filter((c) => MESSAGES_API_CHANNELS[c].ttlS !== undefined))('%s: the ttl range is the one Vonage takes', (channel) => {
    const { min, max } = MESSAGES_API_CHANNELS[channel].ttlS!;
    const withTtl = (ttl: number) => ({ ...message(channel, PHONE), ttl }) as OutboundMessage;
    const body = buildRequestBody(message(channel, PHONE));
    const raw = (ttl: number) => (channel === 'viber_service' ? { ...body, viber_service: { ttl } } : { ...body, ttl });
    for (const ttl of [min, max]) {
      expect(taken(withTtl(ttl))).toBe(true);
      expect(validateRequest(raw(ttl)).ok).toBe(true);
    }
    for (const ttl of [min - 1, max + 1]) {
      expect(taken(withTtl(ttl))).toBe(false);
      expect(validateRequest(raw(ttl)).ok).toBe(false);
    }
  });

  it('a customer-care window of 24 hours on WhatsApp and Messenger only; read receipts everywhere but SMS and MMS', () => {
    const windows = API_CHANNELS.filter((c) => MESSAGES_API_CHANNELS[c].customerCareWindowMs !== undefined);
    expect(windows).toEqual(['whatsapp', 'messenger']);
    for (const c of windows) expect(MESSAGES_API_CHANNELS[c].customerCareWindowMs).toBe(24 * 60 * 60 * 1000);
    expect(API_CHANNELS.filter((c) => MESSAGES_API_CHANNELS[c].readReceipts)).toEqual(['whatsapp', 'messenger', 'viber_service']);
  });
});
