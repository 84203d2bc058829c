import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueues, inboundJobId, INBOUND_TEXT_MAX, inboundMessageSchema, redisKeys, statusJobId, type Queues, type RedisKeys } from '@tickercast/shared';
import { SMS_CONCAT_MAX_PARTS } from '../src/webhooks/sms-concat.ts';
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
  await app.close();
  await queues.close();
});
afterAll(() => t.cleanup());

/** The three ways the SMS API delivers the same parameters. */
type Via = 'GET query' | 'POST form' | 'POST JSON';
const VIAS: Via[] = ['GET query', 'POST form', 'POST JSON'];

function deliver(url: string, params: Record<string, string>, via: Via): Promise<LightMyRequestResponse> {
  switch (via) {
    case 'GET query':
      return app.inject({ method: 'GET', url: `${url}?${new URLSearchParams(params)}` });
    case 'POST form':
      return app.inject({
        method: 'POST',
        url,
        payload: new URLSearchParams(params).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    case 'POST JSON':
      return app.inject({ method: 'POST', url, payload: params });
  }
}

const SMS = {
  msisdn: '447700900123',
  to: '447700900000',
  messageId: '0A0000000123ABCD1',
  text: 'MSFT GOOGL',
  type: 'text',
  keyword: 'MSFT',
  'message-timestamp': '2025-02-03 12:14:25',
  'api-key': 'abcd1234',
};

const DLR = {
  msisdn: '447700900123',
  to: 'Tickercast',
  'network-code': '23410',
  messageId: '0A0000001234567B',
  price: '0.03330000',
  status: 'delivered',
  scts: '2502031214',
  'err-code': '0',
  'message-timestamp': '2025-02-03 12:14:30',
  'api-key': 'abcd1234',
};

describe('inbound SMS (SMS API)', () => {
  it.each(VIAS)('an inbound SMS by %s becomes one inbound job with from = msisdn', async (via) => {
    const res = await deliver('/webhooks/inbound-sms', SMS, via);
    expect(res.statusCode).toBe(200);
    const job = await queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId }));
    expect(job?.data).toEqual({
      channel: 'sms',
      from: '447700900123',
      to: '447700900000',
      text: 'MSFT GOOGL',
      messageId: '0A0000000123ABCD1',
      receivedAt: '2025-02-03T12:14:25.000Z',
    });
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('an inbound SMS redelivered by GET, form and JSON is still one job', async () => {
    for (const via of VIAS) expect((await deliver('/webhooks/inbound-sms', SMS, via)).statusCode).toBe(200);
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('a space in the query timestamp may be encoded as + or %20', async () => {
    const base = new URLSearchParams({ ...SMS, 'message-timestamp': 'X' }).toString();
    await app.inject({ method: 'GET', url: `/webhooks/inbound-sms?${base.replace('message-timestamp=X', 'message-timestamp=2025-02-03%2012:14:25')}` });
    const job = await queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId }));
    expect(job?.data.receivedAt).toBe('2025-02-03T12:14:25.000Z');
  });

  it('unicode text survives URL encoding', async () => {
    await deliver('/webhooks/inbound-sms', { ...SMS, type: 'unicode', text: 'Prix de l’action? €  😀' }, 'GET query');
    expect((await queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId })))?.data.text).toBe('Prix de l’action? €  😀');
  });

  it('an all-digit SMS messageId still makes a legal job', async () => {
    await deliver('/webhooks/inbound-sms', { ...SMS, messageId: '1234567890' }, 'POST form');
    expect((await queues.inbound.getJob(inboundJobId({ messageId: '1234567890' })))?.data.messageId).toBe('1234567890');
  });

  it('a message-timestamp in the future is taken as the time of receipt', async () => {
    const before = Date.now();
    await deliver('/webhooks/inbound-sms', { ...SMS, 'message-timestamp': '2099-01-01 00:00:00' }, 'GET query');
    const at = Date.parse((await queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId })))?.data.receivedAt ?? '');
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('without message-timestamp the receive time is now', async () => {
    const { 'message-timestamp': _ts, ...rest } = SMS;
    const before = Date.now();
    await deliver('/webhooks/inbound-sms', rest, 'POST JSON');
    const at = Date.parse((await queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId })))?.data.receivedAt ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
  });
});

describe('a long SMS in parts', () => {
  const PARTS = ['Please send me the prices of ', 'MSFT, GOOGL and NVDA ', 'every morning, thanks.'];
  const part = (i: number, extra: Record<string, string> = {}) => ({
    ...SMS,
    messageId: `0A00000000000P0${i}`,
    text: PARTS[i - 1] ?? '',
    concat: 'true',
    'concat-ref': '108',
    'concat-total': '3',
    'concat-part': String(i),
    ...extra,
  });

  it('parts delivered out of order, one of them twice, become exactly one job with the text in order', async () => {
    const order = [2, 3, 2];
    for (const i of order) {
      const res = await deliver('/webhooks/inbound-sms', part(i), 'GET query');
      expect(res.statusCode).toBe(200);
      expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 0 });
    }
    // The parts wait in Redis, with a TTL, until every one is in.
    const key = keys.smsConcatParts(SMS.msisdn, '108');
    expect(await t.redis.hgetall(key)).toEqual({ '2': PARTS[1], '3': PARTS[2] });
    const ttl = await t.redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(24 * 60 * 60);

    expect((await deliver('/webhooks/inbound-sms', part(1), 'GET query')).statusCode).toBe(200);
    const waiting = await queues.inbound.getWaiting();
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.data).toMatchObject({ channel: 'sms', from: SMS.msisdn, to: SMS.to, text: PARTS.join('') });
    // Joined, the parts are gone.
    expect(await t.redis.exists(key, keys.smsConcatPartIds(SMS.msisdn, '108'))).toBe(0);

    // A part redelivered after the message was joined adds nothing, and keeps nothing.
    for (const i of [3, 1]) {
      const res = await deliver('/webhooks/inbound-sms', part(i), 'POST form');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true, duplicate: true });
    }
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await t.redis.exists(key)).toBe(0);
  });

  it('a later long message reusing the reference, even a STOP, is a message of its own', async () => {
    for (const i of [1, 2, 3]) await deliver('/webhooks/inbound-sms', part(i), 'POST form');
    const stop = ['STOP sending me ', 'these prices, I do not want them'];
    const answers = [];
    for (const [i, text] of stop.entries()) {
      answers.push((await deliver('/webhooks/inbound-sms', { ...part(i + 1), messageId: `0C00000000000P0${i + 1}`, text, 'concat-total': '2' }, 'GET query')).json());
    }
    expect(answers).toEqual([{ ok: true, parts: 1, of: 2 }, { ok: true }]);
    const texts = (await queues.inbound.getWaiting()).map((j) => j.data.text);
    expect(texts.sort()).toEqual([PARTS.join(''), stop.join('')].sort());
    expect(await t.redis.keys(keys.smsConcatParts('*', '*'))).toEqual([expect.stringContaining(':joined:')]);
  });

  it('the joined message is identified by its parts: the same parts redelivered in a fresh order are the same job', async () => {
    for (const i of [1, 2, 3]) await deliver('/webhooks/inbound-sms', part(i), 'POST form');
    const [job] = await queues.inbound.getWaiting();
    await t.redis.del(keys.smsConcatJoined(SMS.msisdn, '108'));
    for (const i of [3, 2, 1]) await deliver('/webhooks/inbound-sms', part(i), 'POST JSON');
    expect((await queues.inbound.getWaiting()).map((j) => j.id)).toEqual([job!.id]);
  });

  it(`a message in more than ${SMS_CONCAT_MAX_PARTS} parts is joined from its first ${SMS_CONCAT_MAX_PARTS}, which hold more than a command reads`, async () => {
    const total = 255;
    const texts = Array.from({ length: total }, (_, i) => `${i + 1}`.padEnd(153, '.'));
    for (let i = total; i >= 1; i--) {
      const res = await deliver('/webhooks/inbound-sms', part(i, { text: texts[i - 1]!, 'concat-total': String(total) }), 'POST form');
      expect(res.statusCode).toBe(200);
      if (i > SMS_CONCAT_MAX_PARTS) expect(await t.redis.hlen(keys.smsConcatParts(SMS.msisdn, '108'))).toBe(0);
    }
    const [job, ...more] = await queues.inbound.getWaiting();
    expect(more).toEqual([]);
    expect(job?.data.text).toBe(texts.slice(0, SMS_CONCAT_MAX_PARTS).join(''));
  });

  it('each part keeps at most INBOUND_TEXT_MAX / SMS_CONCAT_MAX_PARTS characters, so a joined text fits an inbound job', async () => {
    const huge = 'x'.repeat(9_999);
    const total = SMS_CONCAT_MAX_PARTS;
    for (let i = 1; i <= total; i++) {
      expect((await deliver('/webhooks/inbound-sms', part(i, { text: huge, 'concat-total': String(total) }), 'POST JSON')).statusCode).toBe(200);
      if (i < total) expect((await t.redis.hget(keys.smsConcatParts(SMS.msisdn, '108'), String(i)))?.length).toBeLessThanOrEqual(INBOUND_TEXT_MAX / SMS_CONCAT_MAX_PARTS);
    }
    const [job] = await queues.inbound.getWaiting();
    expect(job?.data.text.length).toBeLessThanOrEqual(INBOUND_TEXT_MAX);
    expect(inboundMessageSchema.safeParse(job?.data).success).toBe(true);
  });

  it('parts delivered concurrently are joined once', async () => {
    const answers = await Promise.all([3, 1, 2, 1, 3, 2].map((i) => deliver('/webhooks/inbound-sms', part(i), 'POST JSON')));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(6).fill(200));
    const waiting = await queues.inbound.getWaiting();
    expect(waiting.map((j) => j.data.text)).toEqual([PARTS.join('')]);
  });

  it('two long messages with the same reference from two senders are not mixed', async () => {
    for (const i of [1, 2, 3]) {
      await deliver('/webhooks/inbound-sms', part(i), 'POST form');
      await deliver('/webhooks/inbound-sms', part(i, { msisdn: '447700900999', messageId: `0B00000000000P0${i}`, text: `other ${i}. ` }), 'POST form');
    }
    const texts = (await queues.inbound.getWaiting()).map((j) => `${j.data.from}: ${j.data.text}`).sort();
    expect(texts).toEqual([`447700900123: ${PARTS.join('')}`, '447700900999: other 1. other 2. other 3. ']);
  });

  it('a part alone is not a message', async () => {
    await deliver('/webhooks/inbound-sms', part(1), 'GET query');
    expect(await queues.inbound.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });
});

describe('delivery receipts (SMS API)', () => {
  it.each(VIAS)('a delivery receipt by %s becomes a status job', async (via) => {
    const res = await deliver('/webhooks/delivery-receipt', DLR, via);
    expect(res.statusCode).toBe(200);
    const job = await queues.status.getJob(statusJobId({ messageId: DLR.messageId, status: 'delivered' }));
    expect(job?.data).toEqual({
      channel: 'sms',
      messageId: '0A0000001234567B',
      status: 'delivered',
      to: '447700900123',
      timestamp: '2025-02-03T12:14:30.000Z',
    });
    expect((await queues.inbound.getJobCounts('waiting')).waiting).toBe(0);
  });

  it('accepted is mapped to submitted', async () => {
    await deliver('/webhooks/delivery-receipt', { ...DLR, status: 'accepted' }, 'GET query');
    const job = await queues.status.getJob(statusJobId({ messageId: DLR.messageId, status: 'submitted' }));
    expect(job?.data.status).toBe('submitted');
    expect(job?.data.error).toBeUndefined();
  });

  it('failed with an err-code carries the error', async () => {
    await deliver('/webhooks/delivery-receipt', { ...DLR, status: 'failed', 'err-code': '6', 'client-ref': 'price:MSFT:9' }, 'POST form');
    const job = await queues.status.getJob(statusJobId({ messageId: DLR.messageId, status: 'failed' }));
    expect(job?.data).toMatchObject({ status: 'failed', clientRef: 'price:MSFT:9', error: { code: '6' } });
    expect(job?.data.error?.reason).toMatch(/6/);
  });

  it.each([
    ['expired', 'expired'],
    ['rejected', 'rejected'],
    ['buffered', 'buffered'],
    ['unknown', 'unknown'],
  ] as const)('%s is kept as %s', async (dlr, state) => {
    await deliver('/webhooks/delivery-receipt', { ...DLR, status: dlr }, 'GET query');
    expect((await queues.status.getJob(statusJobId({ messageId: DLR.messageId, status: state })))?.data.status).toBe(state);
  });

  it('delivered after accepted is two jobs; a repeat is not a third', async () => {
    await deliver('/webhooks/delivery-receipt', { ...DLR, status: 'accepted' }, 'GET query');
    await deliver('/webhooks/delivery-receipt', DLR, 'GET query');
    await deliver('/webhooks/delivery-receipt', DLR, 'POST form');
    expect(await queues.status.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });
});
