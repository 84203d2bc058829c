import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { signMessagesWebhook, smsSignature, SMS_SIGNATURE_METHODS, type SmsSignatureMethod } from '@tickercast/messages-client';
import { createQueues, createRedis, inboundJobId, statusJobId } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { REPLAY_MARGIN_S, SIGNATURE_MAX_AGE_S } from '../src/signatures.ts';
import { redisUrl, testRedis } from '../../../test/support/redis.ts';
import { testIngress, type TestIngress } from './helpers.ts';

const SECRET = 'signature-secret-0123456789abcdef';
const t = testRedis();
let ing: TestIngress;
afterEach(() => ing.close());
afterAll(() => t.cleanup());

const nowS = () => Math.floor(Date.now() / 1000);

const INBOUND = {
  channel: 'whatsapp',
  message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900001',
  from: '447700900456',
  timestamp: '2025-02-03T12:14:25Z',
  message_type: 'text',
  text: 'MSFT',
  profile: { name: 'Jane' },
};
const STATUS = {
  channel: 'sms',
  message_uuid: 'eeeeeeee-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900456',
  from: '447700900000',
  timestamp: '2025-02-03T12:14:30Z',
  status: 'delivered',
};

/** A Messages API webhook as Vonage sends it: the body as text, the JWT over exactly that text. */
async function signedPost(url: string, body: object, o: { secret?: string; iat?: number; raw?: string } = {}): Promise<InjectOptions> {
  const raw = o.raw ?? JSON.stringify(body);
  const authorization = await signMessagesWebhook({ rawBody: raw, secret: o.secret ?? SECRET, iat: o.iat, apiKey: 'abcd1234', applicationId: 'app-1' });
  return { method: 'POST', url, payload: raw, headers: { 'content-type': 'application/json', authorization } };
}

async function refused(opts: InjectOptions, reason: RegExp): Promise<LightMyRequestResponse> {
  const res = await ing.app.inject(opts);
  expect(res.statusCode, res.body).toBe(401);
  expect(res.json()).toMatchObject({ error: 'unauthorized webhook', reason: expect.stringMatching(reason) });
  return res;
}

const MESSAGES_ROUTES = [
  ['/webhooks/inbound', INBOUND],
  ['/webhooks/status', STATUS],
] as const;

describe('Messages API webhooks with VONAGE_SIGNATURE_SECRET set', () => {
  const start = async () => {
    ing = await testIngress(t, { signatureSecret: SECRET });
  };

  it.each(MESSAGES_ROUTES)('%s: a correctly signed webhook is accepted and enqueued once', async (url, body) => {
    await start();
    const res = await ing.app.inject(await signedPost(url, body));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    expect(await ing.totalJobs()).toBe(1);
    if (url === '/webhooks/inbound') expect((await ing.queues.inbound.getJob(inboundJobId({ messageId: INBOUND.message_uuid })))?.data.text).toBe('MSFT');
    else expect(await ing.queues.status.getJob(statusJobId({ messageId: STATUS.message_uuid, status: 'delivered' }))).toBeDefined();
  });

  it.each(MESSAGES_ROUTES)('%s: unsigned is 401 and enqueues nothing', async (url, body) => {
    await start();
    await refused({ method: 'POST', url, payload: body }, /missing Authorization/);
    await refused({ method: 'POST', url, payload: body, headers: { authorization: 'Basic YWJjOmRlZg==' } }, /not a Bearer/);
    expect(await ing.totalJobs()).toBe(0);
  });

  it.each(MESSAGES_ROUTES)('%s: signed with another secret is 401', async (url, body) => {
    await start();
    await refused(await signedPost(url, body, { secret: 'another-secret-0123456789abcdef' }), /bad signature/);
    expect(await ing.totalJobs()).toBe(0);
  });

  it.each(MESSAGES_ROUTES)('%s: a body changed after signing is 401 (payload_hash)', async (url, body) => {
    await start();
    const opts = await signedPost(url, body);
    await refused({ ...opts, payload: JSON.stringify({ ...body, to: '447700900999' }) }, /payload_hash/);
    expect(await ing.totalJobs()).toBe(0);
  });

  it.each(MESSAGES_ROUTES)('%s: a token signed for an empty body does not pass with a form-encoded body (415, nothing enqueued)', async (url, body) => {
    await start();
    const authorization = await signMessagesWebhook({ rawBody: '', secret: SECRET, apiKey: 'abcd1234', applicationId: 'app-1' });
    const form = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await ing.app.inject({ method: 'POST', url, payload: form, headers: { 'content-type': type, authorization } });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(415);
      expect(res.json()).toEqual({ error: 'unsupported content type', reason: 'Messages API webhooks are JSON (application/json)' });
    }
    expect(await ing.totalJobs()).toBe(0);
  });

  it('the hash covers the raw body: the same JSON with other whitespace is not what was signed', async () => {
    await start();
    const opts = await signedPost('/webhooks/inbound', INBOUND);
    await refused({ ...opts, payload: JSON.stringify(INBOUND, null, 2) }, /payload_hash/);
    // ...while a body signed as sent, whatever its formatting, passes.
    const pretty = JSON.stringify(INBOUND, null, 2);
    expect((await ing.app.inject(await signedPost('/webhooks/inbound', INBOUND, { raw: pretty }))).statusCode).toBe(200);
  });

  it.each(MESSAGES_ROUTES)('%s: a token older than 5 minutes is 401', async (url, body) => {
    await start();
    await refused(await signedPost(url, body, { iat: nowS() - 301 }), /stale/);
    await refused(await signedPost(url, body, { iat: nowS() - 3600 }), /stale/);
    expect(await ing.totalJobs()).toBe(0);
    // Four minutes old is fine.
    expect((await ing.app.inject(await signedPost(url, body, { iat: nowS() - 240 }))).statusCode).toBe(200);
  });

  it('a token from the future beyond the clock skew is 401', async () => {
    await start();
    await refused(await signedPost('/webhooks/inbound', INBOUND, { iat: nowS() + 600 }), /future|invalid token/);
  });

  it.each(MESSAGES_ROUTES)('%s: the same signed request replayed is 401, and still one job', async (url, body) => {
    await start();
    const opts = await signedPost(url, body);
    expect((await ing.app.inject(opts)).statusCode).toBe(200);
    await refused(opts, /replayed/);
    expect(await ing.totalJobs()).toBe(1);
    // The jti is remembered in Redis a little longer than a token can be accepted.
    const jtiKeys = await t.redis.keys(ing.keys.webhookReplay('jti', '*'));
    expect(jtiKeys).toHaveLength(1);
    const ttl = await t.redis.ttl(jtiKeys[0]!);
    expect(ttl).toBeGreaterThan(SIGNATURE_MAX_AGE_S);
    expect(ttl).toBeLessThanOrEqual(SIGNATURE_MAX_AGE_S + REPLAY_MARGIN_S + 1);
  });

  it('the same request replayed concurrently gets through once', async () => {
    await start();
    const opts = await signedPost('/webhooks/inbound', INBOUND);
    const answers = await Promise.all(Array.from({ length: 8 }, () => ing.app.inject(opts)));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
    expect(await ing.totalJobs()).toBe(1);
  });

  it('a redelivery, signed afresh as Vonage does, is a 200 that adds nothing (idempotent)', async () => {
    await start();
    for (let i = 0; i < 3; i++) {
      const res = await ing.app.inject(await signedPost('/webhooks/inbound', INBOUND));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(i === 0 ? { ok: true } : { ok: true, duplicate: true });
    }
    expect(await ing.totalJobs()).toBe(1);
  });

  it('a signed but invalid body is still a 400 naming the field', async () => {
    await start();
    const res = await ing.app.inject(await signedPost('/webhooks/inbound', { ...INBOUND, message_uuid: '' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: { path: string }) => i.path)).toEqual(['message_uuid']);
    expect(await ing.totalJobs()).toBe(0);
  });

  it('invalid JSON is still a 400 that says so', async () => {
    await start();
    const res = await ing.app.inject({ method: 'POST', url: '/webhooks/inbound', payload: '{"channel": ', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/JSON/i);
  });

  it('a request that failed on our side (503: its Redis connection closed) may be retried with the same signature', async () => {
    // Queues on a connection closed once they are ready: every add fails.
    const conn = createRedis(redisUrl());
    const sickIng = await testIngress(t, { signatureSecret: SECRET });
    ing = sickIng;
    const broken = createQueues(conn, sickIng.keys);
    await Promise.all(broken.all().map((q) => q.waitUntilReady()));
    await conn.ping();
    await conn.quit();
    const sick = buildIngress({ queues: broken, redis: t.redis, keys: sickIng.keys, signatureSecret: SECRET });
    try {
      const opts = await signedPost('/webhooks/inbound', INBOUND);
      expect((await sick.inject(opts)).statusCode).toBe(503);
      // Same namespace, working queues: the retry is not taken for a replay.
      const res = await sickIng.app.inject(opts);
      expect(res.statusCode, res.body).toBe(200);
      expect(await sickIng.totalJobs()).toBe(1);
    } finally {
      await sick.close();
      await broken.close().catch(() => {});
    }
  });
});

const SMS = { msisdn: '447700900123', to: '447700900000', messageId: '0A0000000123ABCD1', text: 'MSFT & GOOGL = fun', type: 'text', 'message-timestamp': '2025-02-03 12:14:25', 'api-key': 'abcd1234' };
const DLR = { msisdn: '447700900123', to: 'Tickercast', messageId: '0A0000001234567B', status: 'delivered', 'err-code': '0', 'api-key': 'abcd1234' };

let nonceSeq = 0;
/** SMS API parameters signed as Vonage signs them: `timestamp` and `nonce` are part of the signed set. */
function signSms(params: Record<string, string>, o: { method?: SmsSignatureMethod; secret?: string; timestamp?: number; nonce?: string } = {}): Record<string, string> {
  const signed = { ...params, timestamp: String(o.timestamp ?? nowS()), nonce: o.nonce ?? `nonce-${process.pid}-${++nonceSeq}-${Date.now()}` };
  return { ...signed, sig: smsSignature(signed, o.secret ?? SECRET, o.method ?? 'md5hash') };
}

type Via = 'GET query' | 'POST form' | 'POST JSON';
const VIAS: Via[] = ['GET query', 'POST form', 'POST JSON'];
function smsRequest(url: string, params: Record<string, string>, via: Via): InjectOptions {
  if (via === 'GET query') return { method: 'GET', url: `${url}?${new URLSearchParams(params)}` };
  if (via === 'POST form') return { method: 'POST', url, payload: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  return { method: 'POST', url, payload: params };
}

const SMS_ROUTES = [
  ['/webhooks/inbound-sms', SMS],
  ['/webhooks/delivery-receipt', DLR],
] as const;

describe('SMS API webhooks with VONAGE_SIGNATURE_SECRET set', () => {
  describe.each(SMS_SIGNATURE_METHODS)('signature method %s', (method) => {
    it.each(VIAS)('a signed inbound SMS and receipt by %s are accepted; unsigned and mis-signed ones are 401', async (via) => {
      ing = await testIngress(t, { signatureSecret: SECRET, signatureMethod: method });
      for (const [url, params] of SMS_ROUTES) {
        const before = await ing.totalJobs();
        await refused(smsRequest(url, params, via), /missing sig/);
        await refused(smsRequest(url, signSms(params, { method, secret: 'another-secret' }), via), /bad sig/);
        const tampered = { ...signSms(params, { method }), msisdn: '447700900999' };
        await refused(smsRequest(url, tampered, via), /bad sig/);
        expect(await ing.totalJobs(), url).toBe(before);
        const res = await ing.app.inject(smsRequest(url, signSms(params, { method }), via));
        expect(res.statusCode, `${url} ${res.body}`).toBe(200);
      }
      expect(await ing.totalJobs()).toBe(2);
      expect((await ing.queues.inbound.getJob(inboundJobId({ messageId: SMS.messageId })))?.data.text).toBe(SMS.text);
    });
  });

  it('an uppercase hex sig is accepted', async () => {
    ing = await testIngress(t, { signatureSecret: SECRET, signatureMethod: 'sha256' });
    const params = signSms(SMS, { method: 'sha256' });
    const res = await ing.app.inject(smsRequest('/webhooks/inbound-sms', { ...params, sig: params.sig!.toUpperCase() }, 'GET query'));
    expect(res.statusCode).toBe(200);
  });

  it('the method must match the configured one', async () => {
    ing = await testIngress(t, { signatureSecret: SECRET, signatureMethod: 'sha512' });
    await refused(smsRequest('/webhooks/inbound-sms', signSms(SMS, { method: 'md5hash' }), 'GET query'), /bad sig/);
  });

  it.each(SMS_ROUTES)('%s: a timestamp more than 5 minutes off is 401', async (url, params) => {
    ing = await testIngress(t, { signatureSecret: SECRET });
    await refused(smsRequest(url, signSms(params, { timestamp: nowS() - 301 }), 'GET query'), /timestamp/);
    await refused(smsRequest(url, signSms(params, { timestamp: nowS() + 3600 }), 'POST form'), /timestamp/);
    expect(await ing.totalJobs()).toBe(0);
  });

  it.each(SMS_ROUTES)('%s: a replayed nonce is 401, even on another message', async (url, params) => {
    ing = await testIngress(t, { signatureSecret: SECRET });
    const first = signSms(params, { nonce: 'n-123' });
    expect((await ing.app.inject(smsRequest(url, first, 'GET query'))).statusCode).toBe(200);
    await refused(smsRequest(url, first, 'GET query'), /replayed/);
    await refused(smsRequest(url, first, 'POST form'), /replayed/);
    await refused(smsRequest(url, signSms({ ...params, messageId: 'OTHER1' }, { nonce: 'n-123' }), 'POST JSON'), /replayed/);
    expect(await ing.totalJobs()).toBe(1);
    expect(await t.redis.ttl(ing.keys.webhookReplay('nonce', 'n-123'))).toBeGreaterThan(300);
  });

  it.each([-290, 0, 290])('a nonce signed %i s from now is kept for as long as its timestamp is accepted, so no replay passes', async (offset) => {
    // Issue 19 item 13: timestamps are accepted up to 300 s off either way; a nonce kept 390 s let a
    // request stamped 290 s ahead be replayed between 390 s and 590 s after it was first seen.
    ing = await testIngress(t, { signatureSecret: SECRET });
    const nonce = `n-ahead-${offset}`;
    const params = signSms(SMS, { nonce, timestamp: nowS() + offset });
    expect((await ing.app.inject(smsRequest('/webhooks/inbound-sms', params, 'GET query'))).statusCode).toBe(200);
    const ttl = await t.redis.ttl(ing.keys.webhookReplay('nonce', nonce));
    expect(ttl).toBeGreaterThanOrEqual(offset + SIGNATURE_MAX_AGE_S);
    await refused(smsRequest('/webhooks/inbound-sms', params, 'POST form'), /replayed/);
  });

  it('a signed request without a nonce is 401', async () => {
    ing = await testIngress(t, { signatureSecret: SECRET });
    const { nonce: _n, ...rest } = signSms(SMS);
    const params = { ...rest, sig: smsSignature({ ...rest, sig: '' }, SECRET, 'md5hash') };
    await refused(smsRequest('/webhooks/inbound-sms', params, 'GET query'), /nonce/);
  });

  it('a JSON body with a nested value cannot be signed: 401', async () => {
    ing = await testIngress(t, { signatureSecret: SECRET });
    const res = await refused({ method: 'POST', url: '/webhooks/inbound-sms', payload: { ...signSms(SMS), text: { a: 1 } } }, /not a single value/);
    expect(res.statusCode).toBe(401);
  });

  it('a long SMS in signed parts is joined once', async () => {
    ing = await testIngress(t, { signatureSecret: SECRET });
    const part = (i: number) => signSms({ ...SMS, messageId: `P${i}`, text: `part ${i}. `, concat: 'true', 'concat-ref': '7', 'concat-total': '2', 'concat-part': String(i) });
    expect((await ing.app.inject(smsRequest('/webhooks/inbound-sms', part(2), 'GET query'))).statusCode).toBe(200);
    expect((await ing.app.inject(smsRequest('/webhooks/inbound-sms', part(1), 'POST form'))).statusCode).toBe(200);
    const waiting = await ing.queues.inbound.getWaiting();
    expect(waiting.map((j) => j.data.text)).toEqual(['part 1. part 2. ']);
  });
});

describe('without a signature secret', () => {
  it('webhooks are not verified (main.ts warns at start)', async () => {
    ing = await testIngress(t);
    expect((await ing.app.inject({ method: 'POST', url: '/webhooks/inbound', payload: INBOUND })).statusCode).toBe(200);
    expect((await ing.app.inject(smsRequest('/webhooks/delivery-receipt', DLR, 'GET query'))).statusCode).toBe(200);
    expect(await ing.totalJobs()).toBe(2);
  });
});
