import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueues, INBOUND_TEXT_MAX, inboundMessageSchema, redisKeys, type Queues, type RedisKeys } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
let keys: RedisKeys;
let queues: Queues;
let app: FastifyInstance;
let n = 0;

beforeEach(async () => {
  keys = redisKeys(`${t.namespace}:${n++}`);
  queues = createQueues(t.redis, keys);
  app = buildIngress({ queues, redis: t.redis, keys });
  await app.ready();
});
afterEach(async () => {
  // Whatever was sent, nothing reached a queue and no SMS part was kept.
  for (const q of queues.all()) {
    const counts = await q.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0), `${q.name} is empty`).toBe(0);
  }
  expect(await t.redis.keys(`${keys.smsConcatParts('*', '*')}`)).toEqual([]);
  await app.close();
  await queues.close();
});
afterAll(() => t.cleanup());

const INBOUND = {
  channel: 'sms',
  message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900000',
  from: '447700900123',
  timestamp: '2025-02-03T12:14:25Z',
  message_type: 'text',
  text: 'MSFT',
};

const STATUS = {
  channel: 'sms',
  message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900123',
  from: '447700900000',
  timestamp: '2025-02-03T12:14:25Z',
  status: 'delivered',
};

const SMS = {
  msisdn: '447700900123',
  to: '447700900000',
  messageId: '0A0000000123ABCD1',
  text: 'MSFT',
  type: 'text',
  'message-timestamp': '2025-02-03 12:14:25',
};

const DLR = { msisdn: '447700900123', to: 'Tickercast', messageId: '0A0000001234567B', status: 'delivered', 'err-code': '0' };

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await app.inject(opts);
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body).toBeLessThan(500);
  return res;
}

const json = (url: string, payload: string) => ({ method: 'POST' as const, url, payload, headers: { 'content-type': 'application/json' } });

/** The paths a 400 answer names as invalid. */
const issuePaths = (res: LightMyRequestResponse) => (res.json() as { issues: { path: string }[] }).issues.map((i) => i.path);

describe('bad webhooks are refused with a reason and enqueue nothing', () => {
  it('invalid JSON is a 400 that says so', async () => {
    const res = await send(json('/webhooks/inbound', '{"channel": "sms", "message_uuid": '));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/JSON/i);
  });

  it('an empty JSON body is a 400', async () => {
    const res = await send(json('/webhooks/status', ''));
    expect(res.statusCode).toBe(400);
  });

  it.each([
    ['null', 'null'],
    ['an array', JSON.stringify([INBOUND])],
    ['a string', JSON.stringify('MSFT')],
    ['a number', '42'],
  ])('a JSON body that is %s is a 400', async (_what, payload) => {
    expect((await send(json('/webhooks/inbound', payload))).statusCode).toBe(400);
  });

  it('wrong types are a 400 naming each bad field', async () => {
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: { ...INBOUND, message_uuid: 123, to: ['447700900000'], text: { body: 'x' } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid webhook');
    expect(issuePaths(res).sort()).toEqual(['message_uuid', 'text', 'to']);
  });

  it.each(['message_uuid', 'from', 'to', 'channel', 'timestamp', 'message_type'])('an inbound message without %s is a 400 naming it', async (field) => {
    const body: Record<string, unknown> = { ...INBOUND };
    delete body[field];
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: body });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res)).toEqual([field]);
  });

  it('an empty message_uuid is a 400', async () => {
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: { ...INBOUND, message_uuid: '' } });
    expect(issuePaths(res)).toEqual(['message_uuid']);
  });

  it.each(['mms', 'carrier-pigeon', 'rcs', 'SMS', ''])('channel %j is not served: 400', async (channel) => {
    for (const [url, body] of [
      ['/webhooks/inbound', INBOUND],
      ['/webhooks/status', STATUS],
    ] as const) {
      const res = await send({ method: 'POST', url, payload: { ...body, channel } });
      expect(res.statusCode).toBe(400);
      expect(issuePaths(res)).toEqual(['channel']);
    }
  });

  it('a status that does not exist is a 400', async () => {
    const res = await send({ method: 'POST', url: '/webhooks/status', payload: { ...STATUS, status: 'teleported' } });
    expect(issuePaths(res)).toEqual(['status']);
  });

  // Issue 19 item 10: what the dispatcher's job schema would refuse is refused here, before the 200.
  it.each(['99999-01-01T00:00:00Z', '+099999-01-01T00:00:00Z', '2025-02-30T12:00:00Z', '2025-02-03 12:14:25', 'yesterday', '1738581265'])(
    'an inbound message with timestamp %j is a 400 naming it',
    async (timestamp) => {
      const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: { ...INBOUND, timestamp } });
      expect(issuePaths(res)).toEqual(['timestamp']);
    },
  );

  it('an image caption longer than an inbound job carries is a 400', async () => {
    const { text: _text, ...rest } = INBOUND;
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: { ...rest, message_type: 'image', image: { url: 'https://example.com/a.jpg', caption: 'x'.repeat(INBOUND_TEXT_MAX + 1) } } });
    expect(issuePaths(res)).toEqual(['text']);
  });

  it('every inbound webhook answered 200 makes a job the dispatcher accepts', async () => {
    // The other side of the same rule: the ingress refuses nothing the job schema takes.
    const ok = await app.inject({ method: 'POST', url: '/webhooks/inbound', payload: { ...INBOUND, text: 'x'.repeat(INBOUND_TEXT_MAX) } });
    expect(ok.statusCode).toBe(200);
    const [job] = await queues.inbound.getWaiting();
    expect(inboundMessageSchema.safeParse(job?.data).success).toBe(true);
    await queues.inbound.obliterate({ force: true });
  });

  it('a status without message_uuid is a 400', async () => {
    const { message_uuid: _id, ...body } = STATUS;
    const res = await send({ method: 'POST', url: '/webhooks/status', payload: body });
    expect(issuePaths(res)).toEqual(['message_uuid']);
  });

  it('a body over 64 KiB is a 413', async () => {
    const payload = JSON.stringify({ ...INBOUND, text: 'x'.repeat(65 * 1024) });
    for (const url of ['/webhooks/inbound', '/webhooks/status', '/webhooks/inbound-sms', '/webhooks/delivery-receipt']) {
      const res = await send(json(url, payload));
      expect(res.statusCode, url).toBe(413);
    }
  });

  it('a form body over 64 KiB is a 413', async () => {
    const payload = new URLSearchParams({ ...SMS, text: 'x'.repeat(65 * 1024) }).toString();
    const res = await send({ method: 'POST', url: '/webhooks/inbound-sms', payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(413);
  });

  it('a text longer than any message is a 400 even under the body limit', async () => {
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: { ...INBOUND, text: 'x'.repeat(20_000) } });
    expect(res.statusCode).toBe(400);
    expect(issuePaths(res)).toEqual(['text']);
  });

  it.each(['application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream'])('content type %s is a 415', async (type) => {
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: JSON.stringify(INBOUND), headers: { 'content-type': type } });
    expect(res.statusCode).toBe(415);
  });

  it('JSON sent as text/plain is refused', async () => {
    const res = await send({ method: 'POST', url: '/webhooks/inbound', payload: JSON.stringify(INBOUND), headers: { 'content-type': 'text/plain' } });
    expect([400, 415]).toContain(res.statusCode);
  });

  it('a prototype-poisoning body is a 400', async () => {
    const res = await send(json('/webhooks/inbound', `{"__proto__": {"admin": true}, "channel": "sms"}`));
    expect(res.statusCode).toBe(400);
  });
});

describe('bad SMS API webhooks', () => {
  it.each([
    ['no msisdn', { ...SMS, msisdn: undefined }, 'msisdn'],
    ['a msisdn with letters', { ...SMS, msisdn: 'Tickercast' }, 'msisdn'],
    ['no messageId', { ...SMS, messageId: undefined }, 'messageId'],
    ['a timestamp in another format', { ...SMS, 'message-timestamp': '2025-02-03T12:14:25Z' }, 'message-timestamp'],
    ['a timestamp that is no time', { ...SMS, 'message-timestamp': '2025-13-45 99:99:99' }, 'message-timestamp'],
    ['the 30th of February', { ...SMS, 'message-timestamp': '2025-02-30 12:00:00' }, 'message-timestamp'],
    ['a concat-total of 0', { ...SMS, concat: 'true', 'concat-ref': '9', 'concat-total': '0', 'concat-part': '1' }, 'concat-total'],
    ['a concat-part that is not a number', { ...SMS, concat: 'true', 'concat-ref': '9', 'concat-total': '2', 'concat-part': 'one' }, 'concat-part'],
  ])('an inbound SMS with %s is a 400 naming it (GET and POST)', async (_what, params, field) => {
    const defined = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const get = await send({ method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams(defined)}` });
    expect(issuePaths(get)).toEqual([field]);
    const postForm = await send({ method: 'POST', url: '/webhooks/inbound-sms', payload: new URLSearchParams(defined).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(issuePaths(postForm)).toEqual([field]);
  });

  it('a concat part beyond the total is a 400 and keeps nothing', async () => {
    const params = { ...SMS, concat: 'true', 'concat-ref': '9', 'concat-total': '2', 'concat-part': '3' };
    const res = await send({ method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams(params)}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/concat-part/);
  });

  it('a repeated query parameter is a 400, not a crash', async () => {
    const res = await send({ method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams(SMS)}&msisdn=447700900999` });
    expect(issuePaths(res)).toEqual(['msisdn']);
  });

  it('a GET without any parameter is a 400', async () => {
    const res = await send({ method: 'GET', url: '/webhooks/inbound-sms' });
    expect(issuePaths(res).sort()).toEqual(['messageId', 'msisdn', 'to']);
  });

  it('a delivery receipt with an unknown status is a 400', async () => {
    const res = await send({ method: 'GET', url: `/webhooks/delivery-receipt?${new URLSearchParams({ ...DLR, status: 'teleported' })}` });
    expect(issuePaths(res)).toEqual(['status']);
  });

  it('a delivery receipt without messageId is a 400', async () => {
    const { messageId: _id, ...rest } = DLR;
    const res = await send({ method: 'POST', url: '/webhooks/delivery-receipt', payload: rest });
    expect(issuePaths(res)).toEqual(['messageId']);
  });
});

describe('routes', () => {
  it.each([
    ['GET', '/nothing-here'],
    ['GET', '/webhooks'],
    ['POST', '/webhooks/unknown'],
    ['GET', '/webhooks/inbound'],
    ['PUT', '/webhooks/status'],
    ['DELETE', '/webhooks/inbound-sms'],
  ] as const)('%s %s is a 404 that names the route', async (method, url) => {
    const res = await send({ method, url: `${url}?msisdn=447700900123` });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe(`no route ${method} ${url}`);
  });
});
