import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SMS_SIGNATURE_METHODS, verifySmsSignature, type SmsSignatureMethod } from '@tickercast/messages-client';
import type { Simulator } from '../src/app.ts';
import { segment, smsApiTimestamp } from '../src/sms-api-inbound.ts';
import { BUSINESS, manualClock, startCapture, testSimulator, type Capture } from './helpers.ts';

/*
 * A phone's SMS in the SMS API's account-level inbound-sms format: flat string parameters by GET
 * (query), POST (form) or POST-JSON, signed with `sig` by the account's method, long texts in
 * concatenated parts.
 */

const SECRET = 'sms-signature-secret-0123456789';
let capture: Capture;
let sim: Simulator;

beforeAll(async () => {
  capture = await startCapture();
});
afterAll(async () => {
  await capture.close();
});
beforeEach(() => {
  capture.hooks.length = 0;
  capture.answer = () => 200;
});
afterEach(async () => {
  await sim?.app.close();
});

const phoneSends = (payload: Record<string, unknown>, number = '447700900123') =>
  sim.app.inject({ method: 'POST', url: `/_sim/phones/sms/${number}/send`, payload });
const inboundSms = () => capture.on('/webhooks/inbound-sms');

/** What Vonage's spec marks required on inbound-sms. */
const REQUIRED = ['msisdn', 'to', 'messageId', 'text', 'type', 'keyword', 'message-timestamp', 'api-key'];

describe('one short SMS', () => {
  it.each(['GET', 'POST', 'POST-JSON'] as const)('by %s carries the SMS API fields', async (method) => {
    const clock = manualClock(Date.parse('2026-03-02T09:30:05.250Z'));
    sim = testSimulator({ webhookBaseUrl: capture.url, now: clock.now });
    const res = await phoneSends({ text: 'msft please', format: 'sms-api', method });

    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ webhook: 200, parts: [200] });
    expect(inboundSms()).toHaveLength(1);
    const [hook] = inboundSms();
    expect(hook!.method).toBe(method === 'GET' ? 'GET' : 'POST');
    if (method === 'POST') expect(hook!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    if (method === 'POST-JSON') expect(hook!.headers['content-type']).toMatch(/^application\/json/);
    expect(hook!.params).toEqual({
      'api-key': 'a1b2c3d4',
      msisdn: '447700900123',
      to: BUSINESS.sms,
      messageId: expect.stringMatching(/^[0-9A-F]{16}$/),
      text: 'msft please',
      type: 'text',
      keyword: 'MSFT',
      'message-timestamp': '2026-03-02 09:30:05',
    });
    for (const field of REQUIRED) expect(typeof hook!.params[field]).toBe('string');
    expect(res.json<{ message_id: string }>().message_id).toBe(hook!.params.messageId);
    expect(sim.store.conversation('sms', '447700900123').map((e) => e.text)).toEqual(['msft please']);
  });

  it('is the default format when SIMULATOR_SMS_INBOUND_FORMAT says sms-api', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url, smsInbound: { format: 'sms-api', method: 'GET' } });
    expect((await phoneSends({ text: 'HELP' })).statusCode).toBe(202);
    expect(inboundSms().map((h) => h.method)).toEqual(['GET']);
    expect(capture.on('/webhooks/inbound')).toEqual([]);
  });

  it('is for SMS only', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url });
    const res = await sim.app.inject({ method: 'POST', url: '/_sim/phones/whatsapp/447700900123/send', payload: { text: 'HI', format: 'sms-api' } });
    expect(res.statusCode).toBe(400);
    expect(capture.hooks).toEqual([]);
  });
});

describe('signed with sig', () => {
  it.each(SMS_SIGNATURE_METHODS.flatMap((m) => (['GET', 'POST'] as const).map((verb) => [m, verb] as const)))(
    '%s by %s verifies with verifySmsSignature, and not with another secret or method',
    async (signatureMethod, method) => {
      sim = testSimulator({ webhookBaseUrl: capture.url, signatureSecret: SECRET, signatureMethod });
      await phoneSends({ text: 'GOOGL & more = fun', format: 'sms-api', method });
      const params = inboundSms()[0]!.params as Record<string, string>;
      expect(params).toMatchObject({ timestamp: expect.stringMatching(/^\d{10}$/), nonce: expect.any(String), sig: expect.stringMatching(/^[0-9a-f]+$/) });
      expect(verifySmsSignature(params, SECRET, signatureMethod)).toMatchObject({ ok: true });
      expect(verifySmsSignature(params, 'another-secret-0123456789', signatureMethod).ok).toBe(false);
      const other: SmsSignatureMethod = signatureMethod === 'sha256' ? 'sha512' : 'sha256';
      expect(verifySmsSignature(params, SECRET, other).ok).toBe(false);
      expect(verifySmsSignature({ ...params, text: 'STOP' }, SECRET, signatureMethod).ok).toBe(false);
    },
  );

  it('is absent without a signature secret', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url });
    await phoneSends({ text: 'MSFT', format: 'sms-api' });
    expect(Object.keys(inboundSms()[0]!.params)).not.toContain('sig');
  });
});

describe('a long SMS', () => {
  it('arrives in parts sharing a concat-ref, numbered, each signed, that join back to the text', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url, signatureSecret: SECRET, signatureMethod: 'sha256' });
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '); // 270 characters
    const res = await phoneSends({ text, format: 'sms-api' });
    expect(res.json()).toMatchObject({ webhook: 200, parts: [200, 200] });

    const parts = inboundSms().map((h) => h.params as Record<string, string>);
    expect(parts).toHaveLength(2);
    const ref = parts[0]!['concat-ref'];
    expect(ref).toMatch(/^\d+$/);
    for (const [i, p] of parts.entries()) {
      expect(p).toMatchObject({ concat: 'true', 'concat-ref': ref, 'concat-total': '2', 'concat-part': String(i + 1), type: 'text' });
      expect(p.text!.length).toBeLessThanOrEqual(153);
      expect(verifySmsSignature(p, SECRET, 'sha256').ok).toBe(true);
    }
    expect(new Set(parts.map((p) => p.messageId)).size).toBe(2);
    expect(parts.map((p) => p.text).join('')).toBe(text);
  });

  it('a short one has no concat fields; the next long one from the same phone gets another reference', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url });
    await phoneSends({ text: 'x'.repeat(160), format: 'sms-api' });
    expect(inboundSms()[0]!.params).not.toHaveProperty('concat');
    await phoneSends({ text: 'y'.repeat(400), format: 'sms-api' });
    await phoneSends({ text: 'z'.repeat(200), format: 'sms-api' });
    const refs = inboundSms().slice(1).map((h) => h.params['concat-ref']);
    expect(refs.slice(0, 3)).toEqual([refs[0], refs[0], refs[0]]);
    expect(refs[3]).not.toBe(refs[0]);
  });

  it('reports a part the application did not take', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url, webhookDelivery: { retries: 0 } });
    capture.answer = (h) => (h.params['concat-part'] === '2' ? 500 : 200);
    const res = await phoneSends({ text: 'q'.repeat(300), format: 'sms-api' });
    expect(res.json()).toMatchObject({ webhook: 500, parts: [200, 500] });
  });
});

describe('segments', () => {
  it.each<[string, string, 'text' | 'unicode', number[]]>([
    ['160 GSM characters are one message', 'a'.repeat(160), 'text', [160]],
    ['161 are two parts of up to 153', 'a'.repeat(161), 'text', [153, 8]],
    ['the GSM extension characters count twice', '€'.repeat(80), 'text', [80]],
    ['…and one more makes two parts', '€'.repeat(81), 'text', [76, 5]],
    ['a character outside GSM-7 makes it unicode, 70 to a message', 'ü'.repeat(69) + 'ш', 'unicode', [70]],
    ['71 unicode characters are parts of 67', 'ш'.repeat(71), 'unicode', [67, 4]],
    ['an emoji (two UTF-16 units) is never split', `${'ш'.repeat(66)}📈${'ш'.repeat(10)}`, 'unicode', [66, 12]],
  ])('%s', (_name, text, type, lengths) => {
    const s = segment(text);
    expect(s.type).toBe(type);
    expect(s.parts.map((p) => p.length)).toEqual(lengths);
    expect(s.parts.join('')).toBe(text);
  });

  it('message-timestamp is YYYY-MM-DD HH:MM:SS in UTC', () => {
    expect(smsApiTimestamp(new Date('2026-12-31T23:59:59.999Z'))).toBe('2026-12-31 23:59:59');
  });
});
