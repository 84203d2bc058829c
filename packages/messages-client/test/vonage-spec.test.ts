import { describe, expect, it } from 'vitest';
import {
  specAvailable,
  validateRequestBody,
  validateStatusWebhook,
  warnIfSpecMissing,
} from '../../../test/support/openapi.ts';

/*
 * The schema checks elsewhere are only worth something if the validator built from Vonage's
 * spec refuses what Vonage refuses: these bodies are each one mistake away from valid.
 */

warnIfSpecMissing();

const validSms = { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };
const validTemplate = {
  channel: 'whatsapp',
  message_type: 'template',
  to: '447700900123',
  from: '447700900001',
  template: { name: 'tickercast:price_update', parameters: ['MSFT', '412.30'] },
  whatsapp: { policy: 'deterministic', locale: 'en_US' },
};

describe.skipIf(!specAvailable)("the validator built from Vonage's request schema", () => {
  it('accepts a minimal SMS body', () => {
    expect(validateRequestBody(validSms)).toEqual({ valid: true, errors: [] });
  });

  it.each([
    ['an SMS without text', { ...validSms, text: undefined }],
    ['an SMS with an unknown message_type', { ...validSms, message_type: 'txt' }],
    ['an SMS to a number of 6 digits', { ...validSms, to: '447700' }],
    ['an SMS with an unknown encoding', { ...validSms, sms: { encoding_type: 'ascii' } }],
    ['a message on a channel Vonage does not have', { ...validSms, channel: 'telegram' }],
    ['a WhatsApp template without a locale', { ...validTemplate, whatsapp: { policy: 'deterministic' } }],
    ['a WhatsApp template with a policy other than deterministic', { ...validTemplate, whatsapp: { policy: 'fallback', locale: 'en_US' } }],
    ['a WhatsApp template with numeric parameters', { ...validTemplate, template: { name: 'x', parameters: [1, 2] } }],
    [
      'a Messenger message with an unknown category',
      { channel: 'messenger', message_type: 'text', to: '5548213098765432', from: '107083064136738', text: 'hi', messenger: { category: 'promo' } },
    ],
    [
      'a Viber message with a ttl under 30 seconds',
      { channel: 'viber_service', message_type: 'text', to: '447700900123', from: '16273', text: 'hi', viber_service: { ttl: 10 } },
    ],
  ])('refuses %s', (_name, body) => {
    const check = validateRequestBody(JSON.parse(JSON.stringify(body)));
    expect(check.valid).toBe(false);
    expect(check.errors.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!specAvailable)('the message-status webhook schema, patched for the known defect', () => {
  const status = {
    message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    to: '447700900123',
    from: '447700900001',
    timestamp: '2025-02-03T12:14:25Z',
  };

  it.each([
    ['sms', 'delivered'],
    ['sms', 'rejected'],
    ['whatsapp', 'read'],
    ['whatsapp', 'delivered'],
    ['viber_service', 'submitted'],
  ])('accepts a %s status "%s"', (channel, value) => {
    expect(validateStatusWebhook({ ...status, channel, status: value })).toEqual({ valid: true, errors: [] });
  });

  it('accepts a Messenger status between page-scoped ids', () => {
    // Ids of at most 15 digits: the published base schema also applies ToNumber (maxLength 15)
    // to `to` for every channel. The README documents no patch for that, so none is made here.
    const check = validateStatusWebhook({ ...status, to: '554821309876543', from: '107083064136738', channel: 'messenger', status: 'read' });
    expect(check).toEqual({ valid: true, errors: [] });
  });

  it('still refuses a status outside the five Vonage sends, and an unknown channel', () => {
    expect(validateStatusWebhook({ ...status, channel: 'whatsapp', status: 'lost' }).valid).toBe(false);
    expect(validateStatusWebhook({ ...status, channel: 'telegram', status: 'delivered' }).valid).toBe(false);
  });

  it('still requires message_uuid', () => {
    expect(validateStatusWebhook({ ...status, message_uuid: undefined, channel: 'sms', status: 'delivered' }).valid).toBe(false);
  });
});
