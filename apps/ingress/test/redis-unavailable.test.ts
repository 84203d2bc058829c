import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMessagesWebhook, smsSignature } from '@tickercast/messages-client';
import { closeRedis, createQueues, createRedis, inboundJobId, redisKeys, statusJobId, type Queues, type Redis, type RedisKeys } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { startOwnRedis, type OwnRedis } from '../../../test/support/own-redis.ts';
import { until } from '../../../test/support/processes.ts';
import { testNamespace } from '../../../test/support/redis.ts';

/*
 * A webhook we cannot take because Redis is away is our failure: 503, so that Vonage retries it;
 * a webhook answered 200 is in Redis. Against a redis-server of this file's own, really stopped
 * (SIGTERM) and started again, durable as in production (AOF, fsync always).
 */

const SECRET = 'signature-secret-0123456789abcdef';
let own: OwnRedis;
let redis: Redis;
let queues: Queues;
let keys: RedisKeys;
let app: FastifyInstance;

const inbound = (id: string = randomUUID(), from = '447700900456') => ({
  channel: 'sms',
  message_uuid: id,
  to: '447700900000',
  from,
  timestamp: new Date().toISOString(),
  message_type: 'text',
  text: 'MSFT',
});
const status = (id = randomUUID()) => ({
  channel: 'sms',
  message_uuid: id,
  to: '447700900456',
  from: '447700900000',
  timestamp: new Date().toISOString(),
  status: 'delivered',
});

/** Signed as Vonage signs it: each delivery, a retry too, with a token of its own. */
async function signed(url: string, body: object, secret = SECRET): Promise<InjectOptions> {
  const raw = JSON.stringify(body);
  const authorization = await signMessagesWebhook({ rawBody: raw, secret, apiKey: 'abcd1234', applicationId: 'app-1' });
  return { method: 'POST', url, payload: raw, headers: { 'content-type': 'application/json', authorization } };
}

const redisDown = () => until('the ingress to see Redis gone', () => redis.status !== 'ready', 10_000);
const redisUp = () => until('the ingress to reconnect', () => redis.status === 'ready', 20_000);

beforeAll(async () => {
  own = await startOwnRedis();
  redis = createRedis(own.url);
  // It reconnects by itself; without a listener ioredis prints each failed attempt.
  redis.on('error', () => undefined);
  keys = redisKeys(testNamespace());
  queues = createQueues(redis, keys);
  for (const q of queues.all()) q.on('error', () => undefined);
  app = buildIngress({ queues, redis, keys, signatureSecret: SECRET });
  await app.ready();
}, 30_000);

afterAll(async () => {
  await own.start().catch(() => undefined);
  await app?.close();
  await queues?.close();
  if (redis) await closeRedis(redis);
  await own?.close();
}, 30_000);

describe('webhooks while Redis is unreachable', () => {
  it('a signed webhook is answered 503 with Redis stopped, a bad or missing signature still 401, and the retry is taken once Redis is back', async () => {
    const message = inbound();
    const receipt = status();
    await own.stop();
    await redisDown();

    for (const req of [await signed('/webhooks/inbound', message), await signed('/webhooks/status', receipt)]) {
      const res = await app.inject(req);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ reason: 'redis unavailable' });
    }
    // The signature needs no Redis: a forged webhook is refused as such, whatever Redis does.
    const unsigned = await app.inject({ method: 'POST', url: '/webhooks/inbound', payload: inbound(), headers: { 'content-type': 'application/json' } });
    expect(unsigned.statusCode).toBe(401);
    const forged = await app.inject(await signed('/webhooks/inbound', inbound(), 'another-secret-0123456789abcdef'));
    expect(forged.statusCode).toBe(401);

    await own.start();
    await redisUp();
    // Nothing was taken while Redis was away...
    expect(await queues.inbound.getJob(inboundJobId({ messageId: message.message_uuid }))).toBeUndefined();
    // ...and the provider's retries are.
    expect((await app.inject(await signed('/webhooks/inbound', message))).json()).toEqual({ ok: true });
    expect((await app.inject(await signed('/webhooks/status', receipt))).json()).toEqual({ ok: true });
    expect((await queues.inbound.getJob(inboundJobId({ messageId: message.message_uuid })))?.data).toMatchObject({ from: '447700900456', text: 'MSFT' });
    expect(await queues.status.getJob(statusJobId({ messageId: receipt.message_uuid, status: 'delivered' }))).toBeDefined();
  }, 60_000);

  it('a long SMS whose last part meets Redis stopped: 503, and its retry still joins every part answered 200 before', async () => {
    let nonce = 0;
    const part = (i: number) => {
      const params = {
        msisdn: '447700900777',
        to: '447700900000',
        messageId: `0C0000000000LP0${i}`,
        text: `part ${i}. `,
        type: 'text',
        'message-timestamp': '2025-02-03 12:14:25',
        concat: 'true',
        'concat-ref': '42',
        'concat-total': '3',
        'concat-part': String(i),
        timestamp: String(Math.floor(Date.now() / 1000)),
        nonce: `lp-${process.pid}-${++nonce}-${Date.now()}`,
      };
      return { method: 'GET' as const, url: `/webhooks/inbound-sms?${new URLSearchParams({ ...params, sig: smsSignature(params, SECRET, 'md5hash') })}` };
    };
    for (const i of [1, 2]) expect((await app.inject(part(i))).statusCode).toBe(200);
    await own.stop();
    await redisDown();
    expect((await app.inject(part(3))).statusCode).toBe(503);
    await own.start();
    await redisUp();
    // Vonage retries the last part: the message is joined from all three.
    const retried = await app.inject(part(3));
    expect(retried.statusCode, retried.body).toBe(200);
    const jobs = await queues.inbound.getJobs(['waiting']);
    expect(jobs.filter((j) => j.data.from === '447700900777').map((j) => j.data.text)).toEqual(['part 1. part 2. part 3. ']);
    // Joined: the parts are gone, and a late copy of one is a duplicate.
    expect(await redis.exists(keys.smsConcatParts('447700900777', '42'))).toBe(0);
    expect((await app.inject(part(2))).json()).toMatchObject({ duplicate: true });
  }, 60_000);

  it('Redis that stops answering mid-request: 503 rather than a hang, and the very same signed request retried later is accepted, not taken for a replay', async () => {
    const message = inbound();
    const request = await signed('/webhooks/inbound', message);
    // A second connection pauses every client for longer than the webhook's deadline: the
    // ingress's connection stays up, its commands simply get no answer.
    const admin = createRedis(own.url);
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    const res = await app.inject(request);
    expect(res.statusCode, res.body).toBe(503);
    await until('the pause to end', async () => (await admin.ping()) === 'PONG', 10_000);
    await closeRedis(admin);

    // The claim on the token, which landed after the 503, was released behind it.
    const retried = await app.inject(request);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(await queues.inbound.getJob(inboundJobId({ messageId: message.message_uuid }))).toBeDefined();
  }, 60_000);

  it('Redis stopped in the middle of a stream of webhooks: every one answered 200 is a job after the restart; the rest were 503, and their retries make the set whole', async () => {
    const inboundJobs = async () => Object.values(await queues.inbound.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed')).reduce((a, b) => a + b, 0);
    const before = await inboundJobs();
    const answers = new Map<string, number>();
    let stopping: Promise<void> | undefined;
    let refusedAfterStop = 0;
    let n = 0;
    // Eight at a time, as a provider's concurrent deliveries; Redis is stopped once 40 are in, and
    // the stream goes on until 20 more have been refused.
    const lane = async () => {
      while (refusedAfterStop < 20 && n < 5000) {
        const body = inbound(randomUUID(), `4477009${String(10_000 + n++).padStart(5, '0')}`);
        const res = await app.inject(await signed('/webhooks/inbound', body));
        answers.set(body.message_uuid, res.statusCode);
        if (res.statusCode === 503 && stopping) refusedAfterStop++;
        if (answers.size === 40) stopping = own.stop();
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    await stopping;

    const byStatus = Object.groupBy([...answers], ([, code]) => String(code));
    expect(Object.keys(byStatus).sort()).toEqual(['200', '503']);

    await own.start();
    await redisUp();
    const missing: string[] = [];
    for (const [id] of byStatus['200']!) if (!(await queues.inbound.getJob(inboundJobId({ messageId: id })))) missing.push(id);
    expect(missing).toEqual([]);

    // Vonage retries each 503: afterwards every webhook is exactly one job.
    for (const [id] of byStatus['503']!) {
      const res = await app.inject(await signed('/webhooks/inbound', { ...inbound(id) }));
      expect(res.statusCode).toBe(200);
    }
    expect((await inboundJobs()) - before).toBe(answers.size);
  }, 90_000);
});
