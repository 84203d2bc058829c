import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { RedisClient } from '@tickercast/shared';
import { z } from 'zod';
import { callingCode, normalizeNumber } from '@tickercast/messages-client';
import { CHANNEL_RULES, ConfirmationBudget, humanDuration, maskAddress, PendingSignups, signupJobId, subscriberId, type RedisKeys, type ReplyPacer, type SignupChannel } from '@tickercast/shared';
import { clientSubject } from '../client-address.ts';
import { fromAnotherSite } from '../same-origin.ts';
import { sentPage, signupPage, type FormState, type Notice } from './page.ts';
import { confirmationText } from './texts.ts';

export interface SignupOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Where the confirmation goes: a reply, ahead of the feed on its channel, on the signups' own schedule (SIGNUP_RATE_SHARE). */
  confirmations: ReplyPacer;
  /** The tickers on offer (TICKER_SYMBOLS). */
  symbols: readonly string[];
  /** The channels offered on the page: those with a sender number configured. */
  channels: readonly SignupChannel[];
  /** Signup requests per client address (an IPv6 client by its /64) per hour (SIGNUP_RATE_LIMIT). */
  perAddressPerHour: number;
  /** Confirmation messages per number per day (SIGNUP_NUMBER_RATE_LIMIT). */
  perNumberPerDay: number;
  /** Signups per minute over every client (SIGNUP_BUDGET_PER_MINUTE), and per destination calling code (SIGNUP_COUNTRY_BUDGET_PER_MINUTE). */
  budgetPerMinute: number;
  countryBudgetPerMinute: number;
  /** How long a signup waits for its YES (SIGNUP_PENDING_TTL_S). */
  pendingTtlS: number;
  /** PUBLIC_URL: a form posted from a page there is ours, as is one from the host it was posted to. */
  publicUrl: string;
}

const MINUTE_MS = 60 * 1000;
/** A confirmation that would wait longer than this for its slot is not queued: the person is asked to try again. */
const MAX_CONFIRMATION_DELAY_MS = 2 * MINUTE_MS;

/** The page loads nothing from anywhere: inline CSS only, posts only to itself, never framed. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it a browser posts the form with `Origin: null`, and the CSRF check
  // could not tell our page from a sandboxed frame elsewhere. Other sites still learn nothing.
  'referrer-policy': 'same-origin',
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


/**
 * GET /signup: the form. POST /signup: a request to receive prices, which never subscribes
 * anyone by itself: it keeps a pending signup in Redis and sends one message asking for a YES
 * (the dispatcher turns the YES into a subscription). Every request is answered the same way,
 * whether the number already follows those tickers or not: only the message tells the person.
 * Each confirmation is a message we pay for, so they are limited in Redis (the limits hold
 * across replicas): per client address, per number, per destination country and overall, and
 * they take at most a small share of the channel's rate.
 */
export const signupRoutes: FastifyPluginAsync<SignupOptions> = async (app, opts) => {
  const pending = new PendingSignups(opts.redis, opts.keys);
  const budget = new ConfirmationBudget(opts.redis, opts.keys, 'signup-client', {
    perRequesterPerHour: opts.perAddressPerHour,
    perNumberPerDay: opts.perNumberPerDay,
    countryBudgetPerMinute: opts.countryBudgetPerMinute,
    budgetPerMinute: opts.budgetPerMinute,
  });
  const publicHost = new URL(opts.publicUrl).host;
  const offered = new Set(opts.symbols);
  const page = (form?: FormState, notice?: Notice) => signupPage({ channels: opts.channels, symbols: opts.symbols, form, notice });
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body);
  /** A limit was reached: 429, `Retry-After`, and a page saying why and when to try again. */
  const tooMany = (reply: FastifyReply, form: FormState | undefined, retryAfterMs: number, title: string, line: (when: string) => string) => {
    reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    return html(reply, 429, page(form, { kind: 'error', title, lines: [line(humanDuration(retryAfterMs))] }));
  };
  const busy = (reply: FastifyReply, form: FormState, retryAfterMs: number) =>
    tooMany(reply, form, retryAfterMs, 'We are getting many signups right now', (when) => `Nothing was sent. Please try again in ${when}.`);

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
    if (fromAnotherSite(req, publicHost)) {
      req.log.warn({ origin: req.headers.origin ?? req.headers.referer }, 'signup refused: posted from another site');
      return html(reply, 403, page(undefined, {
        kind: 'error',
        title: 'This form can only be sent from our own page',
        lines: ['Nothing was sent. Open the signup page and try again.'],
      }));
    }
    const limit = await budget.requester(clientSubject(req.ip));
    if (!limit.allowed) {
      return tooMany(reply, undefined, limit.retryAfterMs, 'Too many signups from your network', (when) => `Nothing was sent. Please try again in ${when}.`);
    }

    const parsed = formSchema.safeParse(typeof req.body === 'object' && req.body !== null ? req.body : {});
    if (!parsed.success) {
      return html(reply, 400, page(undefined, { kind: 'error', title: 'Please check the form', lines: parsed.error.issues.map((i) => i.message) }));
    }
    const form = parsed.data;
    const channel = opts.channels.find((c) => c === form.channel);
    // Every signup channel is addressed by a phone number (the channel table's type holds it to
    // that), so the form's number is read as one, even before a valid channel is chosen.
    const number = normalizeNumber(form.number);
    const unknown = form.tickers.filter((t) => !offered.has(t));
    const symbols = opts.symbols.filter((s) => form.tickers.includes(s));
    const problems = [
      ...(channel ? [] : [`Choose how to get updates: ${opts.channels.map((c) => CHANNEL_RULES[c].label).join(', ')}.`]),
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
    const spent = await budget.destination(id);
    if (!spent.allowed && spent.limit === 'number') {
      return tooMany(reply, kept, spent.retryAfterMs, 'Too many confirmations for this number', (when) =>
        `We already sent several confirmation messages to this number. Check your phone, or try again in ${when}.`);
    }
    if (!spent.allowed) {
      req.log.warn({ channel, country: callingCode(number), budget: spent.limit }, 'signup refused: budget spent');
      return busy(reply, kept, spent.retryAfterMs);
    }

    // The slot first: a signup refused for want of one writes nothing (and leaves an earlier pending signup of this number as it was).
    const delayMs = await opts.confirmations.reserve(channel, MAX_CONFIRMATION_DELAY_MS);
    if (delayMs === undefined) {
      req.log.warn({ channel }, 'signup refused: confirmations on this channel are booked past their horizon');
      return busy(reply, kept, MAX_CONFIRMATION_DELAY_MS);
    }
    await pending.create({ channel, address: number, symbols, ttlS: opts.pendingTtlS });
    try {
      await opts.confirmations.addReserved(channel, 'signup', { subscriberId: id, text: confirmationText(channel, symbols), optIn: true }, signupJobId(randomUUID()), delayMs);
    } catch (err) {
      // No message, no pending signup: the person tries again.
      await pending.cancel(id).catch(() => {});
      throw err;
    }
    req.log.info({ channel, subscriberId: id, symbols, delayMs }, 'signup pending, confirmation queued');
    return html(reply, 200, sentPage({ channel, maskedNumber: maskAddress(number), symbols, ttl: humanDuration(opts.pendingTtlS * 1000) }));
  });
};
