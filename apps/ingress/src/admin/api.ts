import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { RedisClient } from '@tickercast/shared';
import { z } from 'zod';
import { MESSAGES_API_CHANNELS, normalizeAddress } from '@tickercast/messages-client';
import {
  BROADCAST_TEXT_MAX,
  broadcastFanoutJobId,
  channelSchema,
  DeliveryLog,
  maskAddress,
  PriceCache,
  subscriberId,
  SubscriptionStore,
  type Channel,
  type MessageRecord,
  type Queues,
  type RedisKeys,
  type Subscriber,
  type SubscriberId,
} from '@tickercast/shared';
import { validate } from '../webhooks/validate.ts';
import { requireAdmin } from './auth.ts';

export interface AdminApiOptions {
  token: string;
  redis: RedisClient;
  keys: RedisKeys;
  queues: Queues;
  /** The tickers on offer (TICKER_SYMBOLS): what POST /subscribers accepts. */
  symbols: readonly string[];
  /** PUBLIC_URL: pages there are ours (a change requested from another site is refused). */
  publicUrl: string;
}

/** An address an operator typed or pasted: surrounding space forgiven on every channel. */
function typedAddress(channel: Channel, input: string): string | undefined {
  return normalizeAddress(channel, input.trim());
}

function notAnAddress(channel: Channel): string {
  return `not a valid ${MESSAGES_API_CHANNELS[channel].address}`;
}

const symbolSchema = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'a ticker symbol'));

/** `channel:address`, URL-encoded in the path; the address is normalized like the rest of the system does. */
const idSchema = z
  .string()
  .max(100)
  .transform((raw, ctx) => {
    const at = raw.indexOf(':');
    const channel = channelSchema.safeParse(raw.slice(0, Math.max(at, 0)));
    if (at < 0 || !channel.success) {
      ctx.addIssue({ code: 'custom', message: 'expected channel:address, e.g. sms:447700900123 (URL-encoded)' });
      return z.NEVER;
    }
    const address = typedAddress(channel.data, raw.slice(at + 1));
    if (!address) {
      ctx.addIssue({ code: 'custom', message: notAnAddress(channel.data) });
      return z.NEVER;
    }
    return subscriberId(channel.data, address);
  });

const listQuery = z.strictObject({
  channel: channelSchema.optional(),
  symbol: symbolSchema.optional(),
  // A number (the list of everyone), or channel.partition.number (a symbol's followers).
  cursor: z.string().regex(/^0$|^\d{1,2}\.\d{1,4}\.\d{1,20}$/, 'the cursor of a previous page').default('0'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const subscribeBody = z.strictObject({
  channel: channelSchema,
  address: z.string().min(1).max(64),
  symbols: z.array(symbolSchema).min(1).max(50),
});

const broadcastBody = z.strictObject({
  symbol: symbolSchema,
  text: z.string().trim().min(1).max(BROADCAST_TEXT_MAX),
  /** Makes a retried broadcast add nothing twice: the same key gives each subscriber the same job id. */
  key: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64').optional(),
});

const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(720),
});

const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString());

/** What the API shows of a subscriber: the number masked, as in the logs. */
function subscriberView(s: Subscriber) {
  return {
    id: maskAddress(s.id),
    channel: s.channel,
    address: maskAddress(s.address),
    status: s.status,
    symbols: s.symbols,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    lastInboundAt: iso(s.lastInboundAt),
    intervalMs: s.intervalMs,
  };
}

function messageView(m: MessageRecord) {
  return {
    messageUuid: m.messageUuid,
    channel: m.channel,
    text: m.text,
    state: m.state,
    sentAt: iso(m.sentAt),
    updatedAt: iso(m.updatedAt),
    ...(m.error !== undefined && { error: m.error }),
  };
}

const notFound = (reply: FastifyReply, error = 'no such subscriber') => reply.code(404).send({ error });

/**
 * The admin API, under /admin/api, behind `Authorization: Bearer <ADMIN_TOKEN>` (or Basic with
 * the token as password). JSON in and out; every input is checked by zod and refused with 400
 * and the reasons; phone numbers are masked in every answer.
 */
export const adminApi: FastifyPluginAsync<AdminApiOptions> = async (app, opts) => {
  const { redis, keys, queues } = opts;
  const store = new SubscriptionStore(redis, keys);
  const deliveries = new DeliveryLog(redis, keys);
  const prices = new PriceCache(redis, keys);
  const offered = new Set(opts.symbols);

  app.addHook('onRequest', requireAdmin(opts.token, 'Bearer', opts.publicUrl));
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/prices/:symbol/history', async (req, reply) => {
    const params = validate(z.object({ symbol: symbolSchema }), req.params, reply, 'invalid symbol');
    const q = validate(historyQuery, req.query, reply, 'invalid query');
    if (!params || !q) return reply;
    if (!offered.has(params.symbol)) return reply.code(404).send({ error: `${params.symbol} is not on offer (offered: ${opts.symbols.join(', ')})` });
    const points = await prices.history(params.symbol, q.limit);
    return { symbol: params.symbol, points: points.map((p) => ({ price: p.price, version: p.version, tickedAt: iso(p.tickedAt) })) };
  });

  const subscriberParam = (params: unknown, reply: FastifyReply): SubscriberId | undefined =>
    validate(z.object({ id: idSchema }), params, reply, 'invalid subscriber id')?.id as SubscriberId | undefined;

  app.get('/subscribers', async (req, reply) => {
    const q = validate(listQuery, req.query, reply, 'invalid query');
    if (!q) return reply;
    // Both kinds of page carry a cursor of their own (channel.partition.scan), '0' to begin.
    if (q.cursor !== '0' && !q.cursor.includes('.')) return reply.code(400).send({ error: 'invalid query', issues: [{ path: 'cursor', message: 'the cursor of a previous page' }] });
    const { ids, cursor } = q.symbol
      ? // The symbol's active followers, from the due index.
        await store.followersPage(q.symbol, q.cursor, q.limit, q.channel)
      : await store.subscribersPage(q.cursor, q.limit, q.channel);
    const subscribers = (await Promise.all(ids.map((id) => store.get(id as SubscriberId)))).filter((s): s is Subscriber => s !== undefined);
    return { subscribers: subscribers.map(subscriberView), cursor: cursor === '0' ? null : cursor };
  });

  app.get('/subscribers/:id', async (req, reply) => {
    const id = subscriberParam(req.params, reply);
    if (!id) return reply;
    const s = await store.get(id);
    return s ? subscriberView(s) : notFound(reply);
  });

  app.post('/subscribers', async (req, reply) => {
    const body = validate(subscribeBody, req.body, reply, 'invalid subscription');
    if (!body) return reply;
    const address = typedAddress(body.channel, body.address);
    const unknown = body.symbols.filter((s) => !offered.has(s));
    const issues = [
      ...(address ? [] : [{ path: 'address', message: notAnAddress(body.channel) }]),
      ...(unknown.length ? [{ path: 'symbols', message: `not on offer: ${unknown.join(', ')} (offered: ${opts.symbols.join(', ')})` }] : []),
    ];
    if (!address || issues.length > 0) return reply.code(400).send({ error: 'invalid subscription', issues });
    const existed = (await store.get(subscriberId(body.channel, address))) !== undefined;
    const id = await store.subscribe(body.channel, address, [...new Set(body.symbols)]);
    return reply.code(existed ? 200 : 201).send(subscriberView((await store.get(id))!));
  });

  app.delete('/subscribers/:id', async (req, reply) => {
    const id = subscriberParam(req.params, reply);
    if (!id) return reply;
    if (!(await store.get(id))) return notFound(reply);
    const previous = await store.stop(id);
    return { ...subscriberView((await store.get(id))!), previousStatus: previous ?? null };
  });

  app.delete('/subscribers/:id/symbols/:symbol', async (req, reply) => {
    const p = validate(z.object({ id: idSchema, symbol: symbolSchema }), req.params, reply, 'invalid path');
    if (!p) return reply;
    const id = p.id as SubscriberId;
    const s = await store.get(id);
    if (!s) return notFound(reply);
    if (!s.symbols.includes(p.symbol)) return notFound(reply, `the subscriber does not follow ${p.symbol}`);
    await store.unsubscribe(id, [p.symbol]);
    return subscriberView((await store.get(id))!);
  });

  app.get('/subscribers/:id/messages', async (req, reply) => {
    const id = subscriberParam(req.params, reply);
    if (!id) return reply;
    const q = validate(z.strictObject({ limit: z.coerce.number().int().min(1).max(50).default(50) }), req.query, reply, 'invalid query');
    if (!q) return reply;
    const [s, history] = await Promise.all([store.get(id), deliveries.history(id, q.limit)]);
    if (!s && history.length === 0) return notFound(reply);
    return { id: maskAddress(id), messages: history.map(messageView) };
  });

  /*
   * A broadcast is a fan-out job like a tick's: the dispatchers page through the followers and
   * add the sends, so the request only queues one job, whatever the number of followers. The
   * same `key` is the same job (and the same send job ids), so a retried request adds nothing.
   */
  app.post('/broadcast', async (req, reply) => {
    const body = validate(broadcastBody, req.body, reply, 'invalid broadcast');
    if (!body) return reply;
    const key = body.key ?? randomUUID();
    const followers = await store.countFollowers(body.symbol);
    const data = { symbol: body.symbol, version: 0, tickedAt: Date.now(), broadcast: { text: body.text, key } };
    await queues.fanout.add('broadcast', data, { jobId: broadcastFanoutJobId(key) });
    req.log.info({ symbol: body.symbol, followers }, 'broadcast queued');
    return reply.code(202).send({ symbol: body.symbol, followers, key, status: `/admin/api/broadcasts/${key}` });
  });

  app.get('/broadcasts/:key', async (req, reply) => {
    const params = validate(z.object({ key: broadcastBody.shape.key.unwrap() }), req.params, reply, 'invalid broadcast key');
    if (!params) return reply;
    const job = await queues.fanout.getJob(broadcastFanoutJobId(params.key));
    if (!job?.data.broadcast) return reply.code(404).send({ error: 'no such broadcast' });
    const state = await job.getState();
    const result = state === 'completed' ? (job.returnvalue as { count: number; byChannel: Partial<Record<Channel, number>> }) : undefined;
    return {
      key: params.key,
      symbol: job.data.symbol,
      state,
      ...(result && { count: result.count, byChannel: result.byChannel }),
      ...(job.failedReason && { error: job.failedReason }),
    };
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));
};
