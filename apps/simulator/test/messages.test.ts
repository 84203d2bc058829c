import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSimulator, type Simulator } from '../src/app.ts';
import { credentialsFrom } from '../src/auth.ts';
import type { AcceptedMessage } from '../src/store.ts';

/*
 * POST /v1/messages with good credentials: bodies Vonage would refuse get its 422 problem
 * naming each invalid parameter; valid ones are accepted (202) and can be inspected and reset
 * through /_sim/messages.
 */

const basic = { apiKey: 'a1b2c3d4', apiSecret: 'Secret-0123456789' };
const authorization = `Basic ${Buffer.from(`${basic.apiKey}:${basic.apiSecret}`).toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let sim: Simulator;

beforeAll(async () => {
  sim = buildSimulator({
    credentials: credentialsFrom(basic),
    webhookBaseUrl: 'http://127.0.0.1:9',
    // Vonage takes a webhook_url anywhere; the simulator only where it is told it may post.
    webhookAllow: ['https://hooks.example.com'],
    businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
  });
  await sim.app.ready();
});

afterAll(async () => {
  await sim?.app.close();
});

beforeEach(() => sim.store.reset());

function send(payload: unknown) {
  return sim.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization }, payload: payload as Record<string, unknown> });
}

async function list(query = ''): Promise<{ total: number; acceptedTotal: number; messages: AcceptedMessage[] }> {
  const res = await sim.app.inject({ method: 'GET', url: `/_sim/messages${query}` });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const sms = { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };
const whatsappText = { channel: 'whatsapp', message_type: 'text', to: '447700900123', from: '447700900001', text: 'MSFT 412.30 USD' };
const whatsappTemplate = {
  channel: 'whatsapp',
  message_type: 'template',
  to: '447700900123',
  from: '447700900001',
  template: { name: 'tickercast:price', parameters: ['MSFT', '412.30'] },
  whatsapp: { policy: 'deterministic', locale: 'en_US' },
};
const messenger = {
  channel: 'messenger',
  message_type: 'text',
  to: '5548213098765432',
  from: '107083064136738',
  text: 'MSFT 412.30 USD',
  messenger: { category: 'message_tag', tag: 'ACCOUNT_UPDATE' },
};
const viber = {
  channel: 'viber_service',
  message_type: 'text',
  to: '447700900123',
  from: '16273',
  text: 'MSFT 412.30 USD',
  viber_service: { category: 'transaction', ttl: 600 },
};

describe('a body that is not JSON', () => {
  it('is a 422 invalid-json problem', async () => {
    const res = await sim.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization, 'content-type': 'application/json' },
      payload: '{"channel": "sms", "to": ',
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<Record<string, string>>();
    expect(problem.type).toMatch(/#invalid-json$/);
    expect(problem.title).toMatch(/valid JSON/);
    expect(problem.instance).toMatch(/^[0-9a-f]{32}$/);
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('a JSON array instead of an object is a 422 naming the body', async () => {
    const res = await send([sms]);
    expect(res.statusCode).toBe(422);
    expect(res.json<{ invalid_parameters: { name: string }[] }>().invalid_parameters.map((p) => p.name)).toEqual(['body']);
  });
});

describe('an invalid body is a 422 naming the field', () => {
  const without = <T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> => {
    const { [k]: _dropped, ...rest } = o;
    return rest;
  };

  it.each<[string, unknown, string]>([
    ['an unknown channel', { ...sms, channel: 'telegram' }, 'channel'],
    ['no channel at all', without(sms, 'channel'), 'channel'],
    ['an SMS without text', without(sms, 'text'), 'text'],
    ['an SMS with empty text', { ...sms, text: '' }, 'text'],
    ['an SMS of 1001 characters', { ...sms, text: 'x'.repeat(1001) }, 'text'],
    ['a WhatsApp text of 4097 characters', { ...whatsappText, text: 'x'.repeat(4097) }, 'text'],
    ['a Messenger text of 641 characters', { ...messenger, text: 'x'.repeat(641) }, 'text'],
    ['an SMS to a number with a leading +', { ...sms, to: '+447700900123' }, 'to'],
    ['an SMS to a number with a leading 00', { ...sms, to: '00447700900123' }, 'to'],
    ['an SMS to a number with letters', { ...sms, to: '44770090O123' }, 'to'],
    ['an SMS to a number of 6 digits', { ...sms, to: '447700' }, 'to'],
    ['an SMS from an alphanumeric sender of 12 characters', { ...sms, from: 'TickercastUK' }, 'from'],
    ['an SMS with an unknown message_type', { ...sms, message_type: 'image' }, 'message_type'],
    ['an SMS with an unknown encoding', { ...sms, sms: { encoding_type: 'ascii' } }, 'sms.encoding_type'],
    ['an SMS with a client_ref of 101 characters', { ...sms, client_ref: 'r'.repeat(101) }, 'client_ref'],
    ['an SMS with a webhook_url that is not a URL', { ...sms, webhook_url: 'status please' }, 'webhook_url'],
    ['an SMS with a webhook_url where the simulator may not post', { ...sms, webhook_url: 'https://elsewhere.example.com/status' }, 'webhook_url'],
    ['a WhatsApp message from an alphanumeric sender', { ...whatsappText, from: 'Tickercast' }, 'from'],
    ['a WhatsApp template without a locale', { ...whatsappTemplate, whatsapp: { policy: 'deterministic' } }, 'whatsapp.locale'],
    ['a WhatsApp template without its whatsapp object', without(whatsappTemplate, 'whatsapp'), 'whatsapp'],
    ['a WhatsApp template without a name', { ...whatsappTemplate, template: { parameters: [] } }, 'template.name'],
    ['a Messenger message_tag without a tag', { ...messenger, messenger: { category: 'message_tag' } }, 'messenger.tag'],
    ['a Messenger message with an unknown category', { ...messenger, messenger: { category: 'promo' } }, 'messenger.category'],
    ['an SMS ttl under 20 seconds', { ...sms, ttl: 19 }, 'ttl'],
    ['an SMS ttl over 604800 seconds', { ...sms, ttl: 604_801 }, 'ttl'],
    ['an SMS ttl that is not a whole number of seconds', { ...sms, ttl: 60.5 }, 'ttl'],
    ['a Viber ttl under 30 seconds', { ...viber, viber_service: { ttl: 29 } }, 'viber_service.ttl'],
    ['a Viber ttl over 259200 seconds', { ...viber, viber_service: { ttl: 259_201 } }, 'viber_service.ttl'],
    ['a Viber category that does not exist', { ...viber, viber_service: { category: 'marketing' } }, 'viber_service.category'],
  ])('%s → %s', async (_name, body, field) => {
    const res = await send(body);

    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<{ type: string; title: string; detail: string; instance: string; invalid_parameters: { name: string; reason: string }[] }>();
    expect(problem.type).toMatch(/#1150$/);
    expect(problem.title).toBe('Invalid params');
    expect(problem.instance).toMatch(/^[0-9a-f]{32}$/);
    expect(problem.invalid_parameters.map((p) => p.name)).toContain(field);
    for (const p of problem.invalid_parameters) expect(p.reason).not.toBe('');
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('names every invalid field of one body', async () => {
    const res = await send({ ...sms, to: 'nobody', text: '', ttl: 5 });
    expect(res.statusCode).toBe(422);
    expect(res.json<{ invalid_parameters: { name: string }[] }>().invalid_parameters.map((p) => p.name).sort()).toEqual(['text', 'to', 'ttl']);
  });
});

describe('a valid body', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an SMS', sms],
    ['an SMS with every option', { ...sms, ttl: 900, sms: { encoding_type: 'unicode' }, client_ref: 'job-42', webhook_url: 'https://hooks.example.com/status', webhook_version: 'v1' }],
    ['a WhatsApp text', whatsappText],
    ['a WhatsApp template', whatsappTemplate],
    ['a Messenger message', messenger],
    ['a Viber message', viber],
  ])('%s is accepted with a uuid and visible by channel and recipient', async (_name, body) => {
    const res = await send(body);

    expect(res.statusCode).toBe(202);
    const { message_uuid } = res.json<{ message_uuid: string }>();
    expect(message_uuid).toMatch(UUID);
    const found = await list(`?channel=${String(body.channel)}&to=${String(body.to)}`);
    expect(found.total).toBe(1);
    expect(found.messages[0]).toMatchObject({ messageUuid: message_uuid, channel: body.channel, to: body.to, from: body.from, request: body });
  });

  it('a template is shown as the template name and its parameters', async () => {
    await send(whatsappTemplate);
    expect((await list()).messages[0]?.display).toBe('[template tickercast:price] MSFT · 412.30');
  });
});

describe('/_sim/messages', () => {
  async function sendThree(): Promise<string[]> {
    const uuids: string[] = [];
    for (const body of [sms, { ...sms, to: '14155550101' }, whatsappText]) {
      const res = await send(body);
      expect(res.statusCode).toBe(202);
      uuids.push(res.json<{ message_uuid: string }>().message_uuid);
    }
    return uuids;
  }

  it('filters by channel, by recipient and by both', async () => {
    const [toUkBySms, toUsBySms, toUkByWhatsApp] = await sendThree();

    expect((await list('?channel=sms')).messages.map((m) => m.messageUuid)).toEqual([toUkBySms, toUsBySms]);
    expect((await list('?to=447700900123')).messages.map((m) => m.messageUuid)).toEqual([toUkBySms, toUkByWhatsApp]);
    expect((await list('?channel=whatsapp&to=447700900123')).messages.map((m) => m.messageUuid)).toEqual([toUkByWhatsApp]);
    expect((await list('?channel=messenger')).total).toBe(0);
  });

  it('limit keeps the most recent messages while total counts them all', async () => {
    const uuids = await sendThree();
    const page = await list('?limit=2');
    expect(page.total).toBe(3);
    expect(page.acceptedTotal).toBe(3);
    expect(page.messages.map((m) => m.messageUuid)).toEqual(uuids.slice(1));
  });

  it('since leaves out what was accepted before it', async () => {
    await sendThree();
    expect((await list(`?since=${Date.now() - 60_000}`)).total).toBe(3);
    expect((await list(`?since=${Date.now() + 60_000}`)).total).toBe(0);
  });

  it('refuses a filter on a channel the simulator does not serve, and a limit of 0', async () => {
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/messages?channel=telegram' })).statusCode).toBe(400);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/messages?limit=0' })).statusCode).toBe(400);
  });

  it('DELETE forgets every message, the counter and the conversations', async () => {
    await sendThree();
    const res = await sim.app.inject({ method: 'DELETE', url: '/_sim/messages' });
    expect(res.statusCode).toBe(204);

    expect(await list()).toEqual({ total: 0, acceptedTotal: 0, messages: [] });
    const phones = await sim.app.inject({ method: 'GET', url: '/_sim/phones' });
    expect(phones.json()).toEqual({ phones: [] });
  });
});
