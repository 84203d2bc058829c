import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueues, inboundJobId, redisKeys, statusJobId, type Queues } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
let queues: Queues;
let app: FastifyInstance;
let n = 0;

// Each test gets its own queues (a sub-namespace of this file's), so counts start at zero.
beforeEach(async () => {
  const keys = redisKeys(`${t.namespace}:${n++}`);
  queues = createQueues(t.redis, keys);
  app = buildIngress({ queues, redis: t.redis, keys });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await queues.close();
});
afterAll(() => t.cleanup());

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

/** Messages API v1 inbound webhooks, shaped as Vonage sends them (with the extras we ignore). */
const INBOUND = {
  sms: {
    channel: 'sms',
    message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab',
    to: '447700900000',
    from: '447700900123',
    timestamp: '2025-02-03T12:14:25Z',
    text: 'MSFT GOOGL',
    sms: { num_messages: '1', keyword: 'MSFT' },
    usage: { price: '0.0057', currency: 'EUR' },
    message_type: 'text',
    origin: { network_code: '23410' },
  },
  whatsapp: {
    channel: 'whatsapp',
    message_uuid: 'bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab',
    to: '447700900001',
    from: '447700900456',
    timestamp: '2025-02-03T12:14:25.123Z',
    profile: { name: 'Jane Smith' },
    context_status: 'none',
    message_type: 'text',
    text: 'aapl',
  },
  messenger: {
    channel: 'messenger',
    message_uuid: 'cccccccc-bbbb-4ccc-8ddd-0123456789ab',
    to: '107083064136738',
    from: '4567890123456789',
    timestamp: '2025-02-03T13:14:25+01:00',
    message_type: 'text',
    text: 'LIST',
  },
  viber_service: {
    channel: 'viber_service',
    message_uuid: 'dddddddd-bbbb-4ccc-8ddd-0123456789ab',
    to: '16273',
    from: '447700900789',
    timestamp: '2025-02-03T12:14:25Z',
    message_type: 'text',
    text: 'HELP',
    context: { message_uuid: '1234', message_from: '16273' },
  },
} as const;

const STATUS = {
  channel: 'whatsapp',
  message_uuid: 'eeeeeeee-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900456',
  from: '447700900001',
  timestamp: '2025-02-03T12:14:30Z',
  status: 'submitted',
  client_ref: 'price:MSFT:41',
  usage: { currency: 'EUR', price: '0.0333' },
} as const;

describe('POST /webhooks/inbound (Messages API v1)', () => {
  it.each(Object.entries(INBOUND))('a %s inbound message becomes one inbound job, normalized', async (channel, body) => {
    const res = await post('/webhooks/inbound', body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });

    const jobId = inboundJobId({ messageId: body.message_uuid });
    const job = await queues.inbound.getJob(jobId);
    expect(job?.id).toBe(jobId);
    expect(job?.data).toEqual({
      channel,
      from: body.from,
      to: body.to,
      text: body.text,
      messageId: body.message_uuid,
      receivedAt: new Date(body.timestamp).toISOString(),
    });
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await queues.status.getJobCounts('waiting')).waiting).toBe(0);
  });

  it('a webhook delivered three times is one job', async () => {
    for (let i = 0; i < 3; i++) expect((await post('/webhooks/inbound', INBOUND.sms)).statusCode).toBe(200);
    const waiting = await queues.inbound.getWaiting();
    expect(waiting.map((j) => j.id)).toEqual([inboundJobId({ messageId: INBOUND.sms.message_uuid })]);
  });

  it('the same webhook delivered concurrently is still one job', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('/webhooks/inbound', INBOUND.whatsapp)));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('two different messages are two jobs', async () => {
    await post('/webhooks/inbound', INBOUND.sms);
    await post('/webhooks/inbound', { ...INBOUND.sms, message_uuid: 'ffffffff-bbbb-4ccc-8ddd-0123456789ab', text: 'STOP' });
    const texts = (await queues.inbound.getWaiting()).map((j) => j.data.text).sort();
    expect(texts).toEqual(['MSFT GOOGL', 'STOP']);
  });

  it('an image message uses its caption as the text', async () => {
    const { text: _text, ...rest } = INBOUND.whatsapp;
    const body = { ...rest, message_type: 'image', image: { url: 'https://example.com/i.jpg', caption: 'NVDA' } };
    expect((await post('/webhooks/inbound', body)).statusCode).toBe(200);
    expect((await queues.inbound.getJob(inboundJobId({ messageId: body.message_uuid })))?.data.text).toBe('NVDA');
  });

  it('a tapped WhatsApp button or interactive reply uses its label as the text', async () => {
    const { text: _text, ...rest } = INBOUND.whatsapp;
    const button = { ...rest, message_uuid: 'b1', message_type: 'button', button: { payload: 'confirm', text: 'YES' } };
    const reply = { ...rest, message_uuid: 'b2', message_type: 'reply', reply: { id: 'no', title: 'NO' } };
    for (const body of [button, reply]) expect((await post('/webhooks/inbound', body)).statusCode).toBe(200);
    expect((await queues.inbound.getJob(inboundJobId({ messageId: 'b1' })))?.data.text).toBe('YES');
    expect((await queues.inbound.getJob(inboundJobId({ messageId: 'b2' })))?.data.text).toBe('NO');
  });

  it('a message without text is accepted with empty text (a reply will explain)', async () => {
    const { text: _text, ...rest } = INBOUND.messenger;
    const body = { ...rest, message_type: 'location', location: { lat: 51.5, long: -0.1 } };
    expect((await post('/webhooks/inbound', body)).statusCode).toBe(200);
    expect((await queues.inbound.getJob(inboundJobId({ messageId: body.message_uuid })))?.data.text).toBe('');
  });

  it('a timestamp in the future is taken as the time of receipt (it must not hold a 24-hour window open)', async () => {
    const before = Date.now();
    const res = await post('/webhooks/inbound', { ...INBOUND.whatsapp, timestamp: '2099-01-01T00:00:00Z' });
    expect(res.statusCode).toBe(200);
    const at = Date.parse((await queues.inbound.getWaiting())[0]?.data.receivedAt ?? '');
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('a message_uuid containing a colon still makes one legal job', async () => {
    const body = { ...INBOUND.sms, message_uuid: 'abc:123' };
    for (let i = 0; i < 2; i++) expect((await post('/webhooks/inbound', body)).statusCode).toBe(200);
    const waiting = await queues.inbound.getWaiting();
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.data.messageId).toBe('abc:123');
  });
});

describe('POST /webhooks/status (Messages API v1)', () => {
  it('a status becomes a status job with statusJobId', async () => {
    const res = await post('/webhooks/status', STATUS);
    expect(res.statusCode).toBe(200);
    const jobId = statusJobId({ messageId: STATUS.message_uuid, status: 'submitted' });
    const job = await queues.status.getJob(jobId);
    expect(job?.data).toEqual({
      channel: 'whatsapp',
      messageId: STATUS.message_uuid,
      status: 'submitted',
      to: STATUS.to,
      timestamp: '2025-02-03T12:14:30.000Z',
      clientRef: 'price:MSFT:41',
    });
    expect((await queues.inbound.getJobCounts('waiting')).waiting).toBe(0);
  });

  it('delivered after submitted for the same message is two jobs; a repeat is not a third', async () => {
    await post('/webhooks/status', STATUS);
    await post('/webhooks/status', { ...STATUS, status: 'delivered', timestamp: '2025-02-03T12:14:31Z' });
    await post('/webhooks/status', { ...STATUS, status: 'delivered', timestamp: '2025-02-03T12:14:31Z' });
    await post('/webhooks/status', STATUS);
    const ids = (await queues.status.getWaiting()).map((j) => j.id).sort();
    expect(ids).toEqual(
      [
        statusJobId({ messageId: STATUS.message_uuid, status: 'submitted' }),
        statusJobId({ messageId: STATUS.message_uuid, status: 'delivered' }),
      ].sort(),
    );
  });

  it('statuses arriving out of order are each kept', async () => {
    for (const status of ['read', 'delivered', 'submitted'] as const) await post('/webhooks/status', { ...STATUS, status });
    expect(await queues.status.getJobCounts('waiting')).toEqual({ waiting: 3 });
  });

  it('a failure carries the numbered error code and its reason', async () => {
    const body = {
      ...STATUS,
      channel: 'sms',
      status: 'rejected',
      error: {
        type: 'https://developer.vonage.com/api-errors/messages#1240',
        title: 1240,
        detail: 'The recipient has opted out',
        instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
      },
    };
    expect((await post('/webhooks/status', body)).statusCode).toBe(200);
    const job = await queues.status.getJob(statusJobId({ messageId: STATUS.message_uuid, status: 'rejected' }));
    expect(job?.data.status).toBe('rejected');
    expect(job?.data.channel).toBe('sms');
    expect(job?.data.error).toEqual({ code: '1240', reason: '1240: The recipient has opted out' });
  });

  it.each(['sms', 'whatsapp', 'messenger', 'viber_service'])('a %s status is accepted', async (channel) => {
    expect((await post('/webhooks/status', { ...STATUS, channel, status: 'delivered' })).statusCode).toBe(200);
    expect((await queues.status.getJob(statusJobId({ messageId: STATUS.message_uuid, status: 'delivered' })))?.data.channel).toBe(channel);
  });
});
