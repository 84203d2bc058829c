import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRequestBody, MessagesClient, type OutboundMessage } from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../../apps/simulator/src/auth.ts';
import { specAvailable, validateRequestBody, warnIfSpecMissing } from '../../../test/support/openapi.ts';

/*
 * What the client puts on the wire for each channel, field by field: every message is sent
 * through the real client to a real simulator, and the JSON body the simulator received is
 * compared with the body Vonage expects, then checked against Vonage's published schema.
 */

warnIfSpecMissing();

interface Case {
  name: string;
  input: OutboundMessage;
  body: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'an SMS with every option: ttl, encoding, client_ref and a per-message status URL',
    input: {
      channel: 'sms',
      to: '+447700900123',
      from: 'Tickercast',
      text: 'MSFT 412.30 USD (+0.8%) at 14:05 UTC',
      ttl: 900,
      encoding: 'unicode',
      clientRef: 'job-42',
      webhookUrl: 'https://hooks.example.com/webhooks/status',
    },
    body: {
      channel: 'sms',
      message_type: 'text',
      to: '447700900123',
      from: 'Tickercast',
      text: 'MSFT 412.30 USD (+0.8%) at 14:05 UTC',
      ttl: 900,
      sms: { encoding_type: 'unicode' },
      client_ref: 'job-42',
      webhook_url: 'https://hooks.example.com/webhooks/status',
      webhook_version: 'v1',
    },
  },
  {
    name: "a WhatsApp text with the API's own failover to SMS: each leg a whole message, its number normalized",
    input: {
      channel: 'whatsapp',
      to: '447700900123',
      from: '447700900001',
      text: 'MSFT 412.35',
      clientRef: 'job-9',
      failover: [{ channel: 'sms', to: '+447700900123', from: '447700900000', text: 'MSFT 412.35', clientRef: 'job-9', ttl: 60 }],
    },
    body: {
      channel: 'whatsapp',
      message_type: 'text',
      to: '447700900123',
      from: '447700900001',
      text: 'MSFT 412.35',
      client_ref: 'job-9',
      failover: [{ channel: 'sms', message_type: 'text', to: '447700900123', from: '447700900000', text: 'MSFT 412.35', client_ref: 'job-9', ttl: 60 }],
    },
  },
  {
    name: 'a Viber message failing over to SMS',
    input: {
      channel: 'viber_service',
      to: '447700900123',
      from: '16273',
      text: 'MSFT 412.35',
      category: 'transaction',
      ttl: 30,
      failover: [{ channel: 'sms', to: '447700900123', from: '447700900000', text: 'MSFT 412.35' }],
    },
    body: {
      channel: 'viber_service',
      message_type: 'text',
      to: '447700900123',
      from: '16273',
      text: 'MSFT 412.35',
      viber_service: { category: 'transaction', ttl: 30 },
      failover: [{ channel: 'sms', message_type: 'text', to: '447700900123', from: '447700900000', text: 'MSFT 412.35' }],
    },
  },
  {
    name: 'a plain SMS from a number written with 00, which goes out as bare digits with no optional fields',
    input: { channel: 'sms', to: '00447700900123', from: '00447700900000', text: 'GOOGL 171.02 USD' },
    body: { channel: 'sms', message_type: 'text', to: '447700900123', from: '447700900000', text: 'GOOGL 171.02 USD' },
  },
  {
    name: 'an MMS image with a caption and a TTL',
    input: {
      channel: 'mms',
      to: '+14155550101',
      from: '14155550100',
      image: { url: 'https://example.com/charts/msft.png', caption: 'MSFT today' },
      ttl: 600,
      clientRef: 'mms-1',
    },
    body: {
      channel: 'mms',
      message_type: 'image',
      to: '14155550101',
      from: '14155550100',
      image: { url: 'https://example.com/charts/msft.png', caption: 'MSFT today' },
      ttl: 600,
      client_ref: 'mms-1',
    },
  },
  {
    name: 'a WhatsApp free-text message',
    input: { channel: 'whatsapp', to: '+14155550101', from: '447700900001', text: 'MSFT 412.30 USD', clientRef: 'wa-1' },
    body: { channel: 'whatsapp', message_type: 'text', to: '14155550101', from: '447700900001', text: 'MSFT 412.30 USD', client_ref: 'wa-1' },
  },
  {
    name: 'a WhatsApp template with parameters and a locale',
    input: {
      channel: 'whatsapp',
      to: '447700900123',
      from: '+447700900001',
      template: { name: 'tickercast:price_update', parameters: ['MSFT', '412.30'], locale: 'en_GB' },
    },
    body: {
      channel: 'whatsapp',
      message_type: 'template',
      to: '447700900123',
      from: '447700900001',
      template: { name: 'tickercast:price_update', parameters: ['MSFT', '412.30'] },
      whatsapp: { policy: 'deterministic', locale: 'en_GB' },
    },
  },
  {
    name: 'a WhatsApp template without parameters or locale, which defaults to [] and en_US',
    input: { channel: 'whatsapp', to: '447700900123', from: '447700900001', template: { name: 'tickercast:welcome' } },
    body: {
      channel: 'whatsapp',
      message_type: 'template',
      to: '447700900123',
      from: '447700900001',
      template: { name: 'tickercast:welcome', parameters: [] },
      whatsapp: { policy: 'deterministic', locale: 'en_US' },
    },
  },
  {
    name: 'a Messenger message tagged for use outside the 24-hour window',
    input: {
      channel: 'messenger',
      to: '5548213098765432',
      from: '107083064136738',
      text: 'MSFT 412.30 USD',
      category: 'message_tag',
      tag: 'ACCOUNT_UPDATE',
    },
    body: {
      channel: 'messenger',
      message_type: 'text',
      to: '5548213098765432',
      from: '107083064136738',
      text: 'MSFT 412.30 USD',
      messenger: { category: 'message_tag', tag: 'ACCOUNT_UPDATE' },
    },
  },
  {
    name: 'a Messenger response without a category, which sends no messenger object',
    input: { channel: 'messenger', to: '5548213098765432', from: '107083064136738', text: 'Registered for MSFT data.' },
    body: { channel: 'messenger', message_type: 'text', to: '5548213098765432', from: '107083064136738', text: 'Registered for MSFT data.' },
  },
  {
    name: 'a transactional Viber message with a ttl',
    input: { channel: 'viber_service', to: '+447700900123', from: '16273', text: 'MSFT 412.30 USD', category: 'transaction', ttl: 600 },
    body: {
      channel: 'viber_service',
      message_type: 'text',
      to: '447700900123',
      from: '16273',
      text: 'MSFT 412.30 USD',
      viber_service: { category: 'transaction', ttl: 600 },
    },
  },
  {
    name: 'a Viber message with only a ttl',
    input: { channel: 'viber_service', to: '447700900123', from: '16273', text: 'GOOGL 171.02 USD', ttl: 259_200 },
    body: {
      channel: 'viber_service',
      message_type: 'text',
      to: '447700900123',
      from: '16273',
      text: 'GOOGL 171.02 USD',
      viber_service: { ttl: 259_200 },
    },
  },
];

describe('request bodies on the wire', () => {
  let sim: Simulator;
  let client: MessagesClient;
  /** Every POST /v1/messages body as the simulator parsed it from the wire, before its own validation. */
  const received: unknown[] = [];

  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const applicationId = randomUUID();
    sim = buildSimulator({
      credentials: credentialsFrom({ applicationId, privateKey: pem }),
      webhookBaseUrl: 'http://127.0.0.1:9',
      // The bodies carry a webhook_url there: Vonage takes any, the simulator only where it is allowed to post.
      webhookAllow: ['https://hooks.example.com'],
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
    });
    sim.app.addHook('preHandler', async (req) => {
      if (req.url === '/v1/messages') received.push(req.body);
    });
    const url = await sim.app.listen({ port: 0, host: '127.0.0.1' });
    client = new MessagesClient({ baseUrl: url, auth: { kind: 'jwt', applicationId, privateKey: pem } });
  });

  afterAll(async () => {
    client?.close();
    await sim?.app.close();
  });

  beforeEach(() => {
    received.length = 0;
    // Everything, scheduled statuses included: a failover case's next leg must not land in the next case.
    sim.reset();
  });

  it.each(CASES)('$name', async ({ input, body }) => {
    const { messageUuid } = await client.send(input);

    expect(received).toHaveLength(1);
    expect(received[0]).toStrictEqual(body);
    const [stored] = sim.store.messages();
    expect(stored?.messageUuid).toBe(messageUuid);
    expect(stored?.request).toStrictEqual(body);
  });

  it.each(CASES)('builds the same body without sending: $name', ({ input, body }) => {
    expect(buildRequestBody(input)).toStrictEqual(body);
  });
});

describe.skipIf(!specAvailable)("request bodies against Vonage's published request schema", () => {
  it.each(CASES)('$name', ({ input }) => {
    const check = validateRequestBody(buildRequestBody(input));
    expect(check.errors).toEqual([]);
    expect(check.valid).toBe(true);
  });
});
