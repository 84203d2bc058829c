import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { normalizeNumber } from '@tickercast/messages-client';
import { maskAddress, PendingSignups, subscriberId, SubscriptionStore, type RedisKeys, type ReplyPacer } from '@tickercast/shared';
import { FixedWindowCounter } from '../rate-limit.ts';
import { CHANNEL_LABEL, sentPage, signupPage, type FormState, type Notice } from './page.ts';
import { confirmationText, type SignupChannel } from './texts.ts';

export interface SignupOptions {
  redis: Redis;
  keys: RedisKeys;
  /** Where the confirmation goes: a reply, ahead of the feed on its channel. */
  replies: ReplyPacer;
  /** The tickers on offer (TICKER_SYMBOLS). */
  symbols: readonly string[];
  /** The channels offered on the page: those with a sender number configured. */
  channels: readonly SignupChannel[];
  /** Signup requests per client address per hour (SIGNUP_RATE_LIMIT). */
  perAddressPerHour: number;
  /** Confirmation messages per number per day (SIGNUP_NUMBER_RATE_LIMIT). */
  perNumberPerDay: number;
  /** How long a signup waits for its YES (SIGNUP_PENDING_TTL_S). */
  pendingTtlS: number;
}

const HOUR_MS = 60 * 60 * 1000;

/** The page loads nothing from anywhere: inline CSS only, posts only to itself, never framed. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** One form value: a repeated field keeps its first value. */
const single = z
  .union([z.string(), z.array(z.string()).transform((a) => a[0] ?? '')])
  .optional()
  .transform((v) => (v ?? '').trim());

const formSchema = z.looseObject({
  channel: single,
  number: single.pipe(z.string().max(40, 'the number is too long')),
  tickers: z
    .union([z.string().transform((s) => [s]), z.array(z.string()).max(100)])
    .optional()
    .transform((v) => [...new Set((v ?? []).map((s) => s.trim().toUpperCase()).filter(Boolean))]),
});

function humanDuration(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.round(minutes / 60)} hours`;
}

/**
 * GET /signup: the form. POST /signup: a request to receive prices, which never subscribes
 * anyone by itself: it keeps a pending signup in Redis and sends one message asking for a YES
 * (the dispatcher turns the YES into a subscription). Rate-limited per client address and per
 * number, in Redis, so the limits hold across replicas.
 */
export const signupRoutes: FastifyPluginAsync<SignupOptions> = async (app, opts) => {
  const store = new SubscriptionStore(opts.redis, opts.keys);
  const pending = new PendingSignups(opts.redis, opts.keys);
  const byAddress = new FixedWindowCounter({ redis: opts.redis, keys: opts.keys, scope: 'signup-client', max: opts.perAddressPerHour, windowMs: HOUR_MS });
  const byNumber = new FixedWindowCounter({ redis: opts.redis, keys: opts.keys, scope: 'signup-number', max: opts.perNumberPerDay, windowMs: 24 * HOUR_MS });
  const offered = new Set(opts.symbols);
  const page = (form?: FormState, notice?: Notice) => signupPage({ channels: opts.channels, symbols: opts.symbols, form, notice });
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body);

  // This page answers people, not machines: even our own failures are a page.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err, url: req.url.split('?')[0] }, 'signup failed');
    const notice: Notice =
      status >= 500
        ? { kind: 'error', title: 'Something went wrong on our side', lines: ['Nothing was sent. Please try again in a minute.'] }
        : { kind: 'error', title: 'That request could not be read', lines: [err.message] };
    return html(reply, status >= 500 ? 503 : status, page(undefined, notice));
  });

  app.get('/signup', async (_req, reply) => html(reply, 200, page()));

  app.post('/signup', { bodyLimit: 8 * 1024 }, async (req, reply) => {
    const limit = await byAddress.hit(req.ip);
    if (!limit.allowed) {
      reply.header('retry-after', String(Math.ceil(limit.resetMs / 1000)));
      return html(reply, 429, page(undefined, {
        kind: 'error',
        title: 'Too many signups from your network',
        lines: [`Nothing was sent. Please try again in ${humanDuration(limit.resetMs)}.`],
      }));
    }

    const parsed = formSchema.safeParse(typeof req.body === 'object' && req.body !== null ? req.body : {});
    if (!parsed.success) {
      return html(reply, 400, page(undefined, { kind: 'error', title: 'Please check the form', lines: parsed.error.issues.map((i) => i.message) }));
    }
    const form = parsed.data;
    const channel = opts.channels.find((c) => c === form.channel);
    const number = normalizeNumber(form.number);
    const unknown = form.tickers.filter((t) => !offered.has(t));
    const symbols = opts.symbols.filter((s) => form.tickers.includes(s));
    const problems = [
      ...(channel ? [] : [`Choose how to get updates: ${opts.channels.map((c) => CHANNEL_LABEL[c]).join(', ')}.`]),
      ...(form.number === ''
        ? ['Enter your phone number.']
        : number
          ? []
          : [`“${form.number}” is not a phone number we can reach: include the country code, e.g. +44 7700 900123.`]),
      ...(form.tickers.length === 0 ? ['Choose at least one ticker.'] : []),
      ...(unknown.length > 0 ? [`Not on offer: ${unknown.join(', ')}.`] : []),
    ];
    const kept: FormState = { channel: form.channel, number: form.number, tickers: symbols };
    if (!channel || !number || problems.length > 0) {
      return html(reply, 400, page(kept, { kind: 'error', title: 'Please check the form', lines: problems }));
    }

    const id = subscriberId(channel, number);
    const current = await store.get(id);
    if (current?.status === 'active' && symbols.every((s) => current.symbols.includes(s))) {
      return html(reply, 200, page(kept, {
        kind: 'info',
        title: 'Already subscribed',
        lines: [`This number already gets ${symbols.join(', ')} on ${CHANNEL_LABEL[channel]}. Text LIST to see yours, STOP to end.`],
      }));
    }

    const perNumber = await byNumber.hit(id);
    if (!perNumber.allowed) {
      reply.header('retry-after', String(Math.ceil(perNumber.resetMs / 1000)));
      return html(reply, 429, page(kept, {
        kind: 'error',
        title: 'Too many confirmations for this number',
        lines: [`We already sent several confirmation messages to this number. Check your phone, or try again in ${humanDuration(perNumber.resetMs)}.`],
      }));
    }

    await pending.create({ channel, address: number, symbols, ttlS: opts.pendingTtlS });
    try {
      await opts.replies.add(channel, 'signup', { subscriberId: id, text: confirmationText(channel, symbols) }, `signup-${randomUUID()}`);
    } catch (err) {
      // No message, no pending signup: the person tries again.
      await pending.cancel(id).catch(() => {});
      throw err;
    }
    req.log.info({ channel, subscriberId: id, symbols }, 'signup pending, confirmation queued');
    return html(reply, 200, sentPage({ channel, maskedNumber: maskAddress(number), symbols, ttl: humanDuration(opts.pendingTtlS * 1000) }));
  });
};
