import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countryOf,
  isPageScopedId,
  isSmsSender,
  MessagesClient,
  MessageValidationError,
  normalizeNumber,
  type OutboundMessage,
} from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../../apps/simulator/src/auth.ts';

describe('normalizeNumber', () => {
  it.each([
    ['447700900123', '447700900123'],
    ['+447700900123', '447700900123'],
    ['00447700900123', '447700900123'],
    ['  +14155550101 ', '14155550101'],
  ])('accepts %j as %s', (input, expected) => {
    expect(normalizeNumber(input)).toBe(expected);
  });

  it.each([
    ['letters', 'call me maybe'],
    ['letters mixed into digits', '44770090O123'],
    ['too few digits', '123456'],
    ['too many digits (16)', '4477009001234567'],
    ['a national number with a trunk 0', '07700900123'],
    ['a + followed by 00', '+00447700900123'],
    ['spaces inside', '+44 7700 900123'],
    ['an empty string', ''],
  ])('refuses %s (%j)', (_why, input) => {
    expect(normalizeNumber(input)).toBeUndefined();
  });

  it('gives the same answers when asked again (answers are kept)', () => {
    for (let round = 0; round < 3; round++) {
      expect(normalizeNumber('+447700900123')).toBe('447700900123');
      expect(normalizeNumber('07700900123')).toBeUndefined();
      expect(normalizeNumber('')).toBeUndefined();
    }
  });
});

describe('isPageScopedId', () => {
  it('accepts long decimal ids', () => {
    expect(isPageScopedId('5548213098765432')).toBe(true);
    expect(isPageScopedId('107083064136738')).toBe(true);
  });
  it.each(['me', '+5548213098765432', '5548-2130', '1234', ''])('refuses %j', (input) => {
    expect(isPageScopedId(input)).toBe(false);
  });
});

describe('isSmsSender', () => {
  it.each(['447700900000', '+447700900000', 'Tickercast', 'TICKER 24', 'A', '12345678901'])('accepts %j', (input) => {
    expect(isSmsSender(input)).toBe(true);
  });
  it.each([
    ['12 characters', 'TickercastUK'],
    ['a hyphen', 'Ticker-cast'],
    ['an accent', 'Tickércast'],
    ['an empty sender', ''],
  ])('refuses a sender with %s', (_why, input) => {
    expect(isSmsSender(input)).toBe(false);
  });
});

/*
 * A message with a bad address never leaves the process: the client throws
 * MessageValidationError naming the field, and the real simulator it points at sees no request.
 */
describe('a message that fails validation is never sent', () => {
  let sim: Simulator;
  let client: MessagesClient;
  let requests = 0;

  beforeAll(async () => {
    sim = buildSimulator({
      credentials: credentialsFrom({ apiKey: 'key123', apiSecret: 'secret456' }),
      webhookBaseUrl: 'http://127.0.0.1:9',
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
    });
    sim.app.addHook('onRequest', async () => {
      requests++;
    });
    const url = await sim.app.listen({ port: 0, host: '127.0.0.1' });
    client = new MessagesClient({ baseUrl: url, auth: { kind: 'basic', apiKey: 'key123', apiSecret: 'secret456' } });
  });

  afterAll(async () => {
    client?.close();
    await sim?.app.close();
  });

  const sms = { channel: 'sms', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' } as const;
  const whatsapp = { channel: 'whatsapp', to: '447700900123', from: '447700900001', text: 'MSFT 412.30 USD' } as const;
  const messenger = { channel: 'messenger', to: '5548213098765432', from: '107083064136738', text: 'MSFT 412.30 USD' } as const;
  const viber = { channel: 'viber_service', to: '447700900123', from: '16273', text: 'MSFT 412.30 USD' } as const;

  const cases: [string, OutboundMessage, string][] = [
    ['an SMS to a "number" with letters', { ...sms, to: 'call me' }, 'to'],
    ['an SMS to a number too short to exist', { ...sms, to: '+123456' }, 'to'],
    ['an SMS to a number of 16 digits', { ...sms, to: '+4477009001234567' }, 'to'],
    ['an SMS to a national number with a trunk 0', { ...sms, to: '07700900123' }, 'to'],
    ['an SMS from an alphanumeric sender of 12 characters', { ...sms, from: 'TickercastUK' }, 'from'],
    ['an SMS from a sender with a hyphen', { ...sms, from: 'Ticker-cast' }, 'from'],
    ['an SMS from an empty sender', { ...sms, from: '' }, 'from'],
    ['an SMS of 1001 characters', { ...sms, text: 'x'.repeat(1001) }, 'text'],
    ['an SMS with an empty text', { ...sms, text: '' }, 'text'],
    ['an SMS with a ttl under 20 seconds', { ...sms, ttl: 5 }, 'ttl'],
    ['an SMS with a client_ref of 101 characters', { ...sms, clientRef: 'r'.repeat(101) }, 'clientRef'],
    ['an SMS with a status URL that is not a URL', { ...sms, webhookUrl: 'status please' }, 'webhookUrl'],
    ['a WhatsApp message from an alphanumeric sender', { ...whatsapp, from: 'Tickercast' }, 'from'],
    ['a WhatsApp message to a number with letters', { ...whatsapp, to: '44770090O123' }, 'to'],
    ['a WhatsApp template with an empty name', { channel: 'whatsapp', to: '447700900123', from: '447700900001', template: { name: '' } }, 'template.name'],
    ['a Messenger message to a phone number with +', { ...messenger, to: '+447700900123' }, 'to'],
    ['a Messenger message to a name rather than an id', { ...messenger, to: 'jane.doe' }, 'to'],
    ['a Messenger message from a page name', { ...messenger, from: 'tickercast-page' }, 'from'],
    ['a Messenger message_tag without its tag', { ...messenger, category: 'message_tag' }, 'tag'],
    ['a Viber message to a number with letters', { ...viber, to: 'viber-user' }, 'to'],
    ['a Viber message with a ttl under 30 seconds', { ...viber, ttl: 29 }, 'ttl'],
    ['a Viber message with a ttl over three days', { ...viber, ttl: 259_201 }, 'ttl'],
  ];

  it.each(cases)('%s throws MessageValidationError on "%s" and makes no request', async (_name, message, field) => {
    const err = await client.send(message).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MessageValidationError);
    expect((err as MessageValidationError).field).toBe(field);
    expect((err as MessageValidationError).retryable).toBe(false);
    expect(requests).toBe(0);
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('while a valid message to the same server does arrive (the server is listening)', async () => {
    await client.send({ ...sms, to: '+447700900123' });
    expect(requests).toBe(1);
    expect(sim.store.messages().map((m) => m.to)).toEqual(['447700900123']);
  });
});

describe('countryOf', () => {
  it('is the number\'s country; within +1 the area code decides; an unplaced number gets its calling code\'s main country', () => {
    expect(countryOf('33612345678')).toBe('FR');
    expect(countryOf('12125550123')).toBe('US');
    expect(countryOf('14165550123')).toBe('CA');
    // 07700 900xxx is set aside for drama: no UK operator has it, but +44 is the UK's.
    expect(countryOf('447700900123')).toBe('GB');
    expect(countryOf('3912')).toBeUndefined();
  });
});
