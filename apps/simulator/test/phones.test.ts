import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { specAvailable, validateInboundWebhook, warnIfSpecMissing } from '../../../test/support/openapi.ts';
import { buildSimulator, type Simulator } from '../src/app.ts';
import { credentialsFrom } from '../src/auth.ts';
import type { ConversationEntry } from '../src/store.ts';

/*
 * A person playing a phone: what they type is posted to the application as a Messages API v1
 * inbound webhook (to a real capture server standing in for the application), and each phone's
 * conversation shows what came in and what the application sent back, in order.
 */

warnIfSpecMissing();

const BUSINESS = { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' } as const;
const basic = { apiKey: 'a1b2c3d4', apiSecret: 'Secret-0123456789' };
const authorization = `Basic ${Buffer.from(`${basic.apiKey}:${basic.apiSecret}`).toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Captured {
  url: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

let capture: FastifyInstance;
const webhooks: Captured[] = [];
let sim: Simulator;

beforeAll(async () => {
  capture = Fastify({ logger: false });
  capture.post('/webhooks/inbound', async (req, reply) => {
    webhooks.push({ url: req.url, contentType: req.headers['content-type'], body: req.body as Record<string, unknown> });
    return reply.code(200).send();
  });
  const captureUrl = await capture.listen({ port: 0, host: '127.0.0.1' });

  sim = buildSimulator({ credentials: credentialsFrom(basic), webhookBaseUrl: captureUrl, businessNumbers: { ...BUSINESS } });
  await sim.app.ready();
});

afterAll(async () => {
  await sim?.app.close();
  await capture?.close();
});

beforeEach(() => {
  webhooks.length = 0;
  sim.store.reset();
});

function phoneSends(channel: string, number: string, payload: unknown) {
  return sim.app.inject({ method: 'POST', url: `/_sim/phones/${channel}/${number}/send`, payload: payload as Record<string, unknown> });
}

async function conversation(channel: string, number: string): Promise<ConversationEntry[]> {
  const res = await sim.app.inject({ method: 'GET', url: `/_sim/phones/${channel}/${number}` });
  expect(res.statusCode).toBe(200);
  const body = res.json<{ channel: string; number: string; conversation: ConversationEntry[] }>();
  expect(body).toMatchObject({ channel, number });
  return body.conversation;
}

describe('a phone sends a message', () => {
  it('posts exactly one inbound webhook with the Messages API v1 fields', async () => {
    const before = Date.now();
    const res = await phoneSends('sms', '447700900123', { text: 'msft please' });

    expect(res.statusCode).toBe(202);
    const answer = res.json<{ message_uuid: string; webhook: number | string }>();
    expect(answer.webhook).toBe(200);
    expect(webhooks).toHaveLength(1);
    const [hook] = webhooks;
    expect(hook?.url).toBe('/webhooks/inbound');
    expect(hook?.contentType).toMatch(/^application\/json/);
    expect(hook?.body).toEqual({
      channel: 'sms',
      message_uuid: answer.message_uuid,
      to: BUSINESS.sms,
      from: '447700900123',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      message_type: 'text',
      text: 'msft please',
      sms: { num_messages: '1', keyword: 'MSFT' },
    });
    expect(answer.message_uuid).toMatch(UUID);
    expect(Date.parse(hook?.body.timestamp as string)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it('a long SMS says how many parts it would have taken', async () => {
    await phoneSends('sms', '447700900123', { text: 'x'.repeat(161) });
    expect(webhooks[0]?.body.sms).toMatchObject({ num_messages: '2' });
  });

  it.each([
    ['whatsapp', '447700900123', BUSINESS.whatsapp],
    ['messenger', '5548213098765432', BUSINESS.messenger],
    ['viber_service', '447700900123', BUSINESS.viber_service],
  ])('on %s, goes from the phone to the business id of that channel', async (channel, number, business) => {
    await phoneSends(channel, number, { text: 'GOOGL' });
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]?.body).toMatchObject({ channel, from: number, to: business, text: 'GOOGL', message_type: 'text' });
  });

  it('still records the message and says so when the application cannot be reached', async () => {
    const offline = buildSimulator({ credentials: credentialsFrom(basic), webhookBaseUrl: 'http://127.0.0.1:9', businessNumbers: { ...BUSINESS } });
    try {
      const res = await offline.app.inject({ method: 'POST', url: '/_sim/phones/sms/447700900123/send', payload: { text: 'HELP' } });
      expect(res.statusCode).toBe(202);
      expect(res.json<{ webhook: string }>().webhook).toMatch(/^unreachable/);
      expect(offline.store.conversation('sms', '447700900123').map((e) => e.text)).toEqual(['HELP']);
    } finally {
      await offline.app.close();
    }
  });
});

describe.skipIf(!specAvailable)("the inbound webhook against Vonage's x-webhooks inbound-message schema", () => {
  it.each([
    ['sms', '447700900123'],
    ['whatsapp', '447700900123'],
    ['messenger', '5548213098765432'],
    ['viber_service', '447700900123'],
  ])('%s', async (channel, number) => {
    await phoneSends(channel, number, { text: 'MSFT' });
    expect(webhooks).toHaveLength(1);
    const check = validateInboundWebhook(webhooks[0]?.body);
    expect(check.errors).toEqual([]);
    expect(check.valid).toBe(true);
  });
});

describe('the conversation', () => {
  it('shows what the phone sent, then what the application sent to that number, in order', async () => {
    const inbound = await phoneSends('sms', '447700900123', { text: 'MSFT' });
    const inboundUuid = inbound.json<{ message_uuid: string }>().message_uuid;

    const reply = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization },
      payload: { channel: 'sms', message_type: 'text', to: '447700900123', from: BUSINESS.sms, text: 'Registered for MSFT data.' },
    });
    expect(reply.statusCode).toBe(202);
    const replyUuid = reply.json<{ message_uuid: string }>().message_uuid;

    const entries = await conversation('sms', '447700900123');
    expect(entries.map(({ direction, text, messageUuid }) => ({ direction, text, messageUuid }))).toEqual([
      { direction: 'in', text: 'MSFT', messageUuid: inboundUuid },
      { direction: 'out', text: 'Registered for MSFT data.', messageUuid: replyUuid },
    ]);
    expect(Date.parse(entries[1]!.at)).toBeGreaterThanOrEqual(Date.parse(entries[0]!.at));
  });

  it('is kept per channel and number', async () => {
    await phoneSends('sms', '447700900123', { text: 'MSFT' });
    await phoneSends('whatsapp', '447700900123', { text: 'GOOGL' });
    await phoneSends('sms', '14155550101', { text: 'HELP' });

    expect((await conversation('sms', '447700900123')).map((e) => e.text)).toEqual(['MSFT']);
    expect((await conversation('whatsapp', '447700900123')).map((e) => e.text)).toEqual(['GOOGL']);
    expect((await conversation('sms', '14155550101')).map((e) => e.text)).toEqual(['HELP']);
    expect(await conversation('viber_service', '447700900123')).toEqual([]);

    const phones = (await sim.app.inject({ method: 'GET', url: '/_sim/phones' })).json<{ phones: { channel: string; number: string; messages: number }[] }>();
    expect(phones.phones.map(({ channel, number, messages }) => ({ channel, number, messages }))).toEqual([
      { channel: 'sms', number: '447700900123', messages: 1 },
      { channel: 'whatsapp', number: '447700900123', messages: 1 },
      { channel: 'sms', number: '14155550101', messages: 1 },
    ]);
  });
});

describe('bad phone parameters are a 400 and post nothing', () => {
  it.each<[string, string, string, unknown]>([
    ['letters in the number', 'sms', '44770090abc', { text: 'MSFT' }],
    ['a number too short', 'sms', '1234', { text: 'MSFT' }],
    ['an unknown channel', 'telegram', '447700900123', { text: 'MSFT' }],
    ['an empty text', 'sms', '447700900123', { text: '' }],
    ['no text', 'sms', '447700900123', {}],
    ['a text that is not a string', 'sms', '447700900123', { text: 42 }],
  ])('%s', async (_name, channel, number, payload) => {
    const res = await phoneSends(channel, number, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toEqual(expect.any(String));
    expect(webhooks).toHaveLength(0);
    expect(sim.store.phones()).toEqual([]);
  });

  it('reading the conversation of a malformed number or unknown channel is a 400 too', async () => {
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/phones/sms/not-a-number' })).statusCode).toBe(400);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/phones/telegram/447700900123' })).statusCode).toBe(400);
  });
});
