import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisClient } from '@tickercast/shared';
import { verifyMessagesWebhook, verifySmsSignature, type SmsSignatureMethod } from '@tickercast/messages-client';
import { RELEASE_IF_OURS_LUA, type RedisKeys } from '@tickercast/shared';
import type { RedisDeadline } from './types.ts';

/** A signed webhook older than this (by `iat` or `timestamp`) is refused. */
export const SIGNATURE_MAX_AGE_S = 300;
/** A token issued this far in the future is still accepted (clock skew). */
const CLOCK_SKEW_S = 30;
/**
 * A `jti` or `nonce` is remembered until the request carrying it can no longer be accepted (by
 * its own `iat` or `timestamp`, which may lie ahead of our clock), plus this margin for replicas
 * whose clocks differ.
 */
export const REPLAY_MARGIN_S = 60;

export interface SignatureOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** VONAGE_SIGNATURE_SECRET; without it nothing is verified (main.ts warns loudly). */
  secret: string | undefined;
  /** VONAGE_SIGNATURE_METHOD: how SMS API webhooks are signed. */
  smsMethod: SmsSignatureMethod;
  bodyLimit: number;
  /** The replay guard's claim, like every webhook's Redis work, is bounded: Redis away is a 503, never a hang. */
  deadline: RedisDeadline;
}

/**
 * Releases a replay claim only if it is still this request's: never another request's claim of the
 * same token. Sent as EVAL with its source (the rare 5xx path), so that it is one command, queued
 * on the connection behind the claim and ahead of any retry's: a script run by SHA would go again,
 * later, after a NOSCRIPT.
 */
const RELEASE_CLAIM = RELEASE_IF_OURS_LUA;

/** `acceptedUntil`: epoch seconds after which the signed request is refused as stale anyway. */
type Checked = { ok: true; replay: { scheme: 'jti' | 'nonce'; value: string; acceptedUntil: number } } | { ok: false; reason: string };

/**
 * Keeps every JSON body as received (`req.rawBody`, what `payload_hash` covers) and, with a
 * secret, verifies each route marked `config.webhook` before its handler runs: Messages API
 * routes by the HS256 JWT in Authorization, SMS API routes by `sig`. Unsigned, mis-signed, stale
 * or replayed requests are answered 401 with the reason, so nothing is enqueued.
 */
const plugin: FastifyPluginAsync<SignatureOptions> = async (app, opts) => {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    req.rawBody = body as string;
    parseJson(req, body as string, done);
  });

  const { secret } = opts;
  if (!secret) return;

  async function check(req: FastifyRequest): Promise<Checked> {
    if (req.routeOptions.config.webhook === 'messages') {
      // payload_hash covers the JSON text as received; a body that reached us otherwise has none to check.
      if (req.rawBody === undefined) return { ok: false, reason: 'the body is not JSON' };
      const result = await verifyMessagesWebhook({
        authorization: req.headers.authorization,
        rawBody: req.rawBody,
        secret: secret!,
        maxAgeSeconds: SIGNATURE_MAX_AGE_S,
        clockSkewSeconds: CLOCK_SKEW_S,
      });
      if (!result.ok) return result;
      const jti = result.value.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 200) return { ok: false, reason: 'token has no usable jti' };
      // verifyMessagesWebhook checked that iat is a number.
      return { ok: true, replay: { scheme: 'jti', value: jti, acceptedUntil: result.value.iat! + SIGNATURE_MAX_AGE_S } };
    }
    const params = stringParams(req.method === 'GET' ? req.query : req.body);
    if (typeof params === 'string') return { ok: false, reason: params };
    const result = verifySmsSignature(params, secret!, opts.smsMethod, { maxAgeSeconds: SIGNATURE_MAX_AGE_S });
    if (!result.ok) return result;
    const nonce = result.value.nonce;
    if (!nonce || nonce.length > 200) return { ok: false, reason: 'missing nonce' };
    return { ok: true, replay: { scheme: 'nonce', value: nonce, acceptedUntil: result.value.acceptedUntil } };
  }

  const refuse = (req: FastifyRequest, reply: FastifyReply, reason: string) => {
    req.webhookOutcome = 'unauthorized';
    req.log.warn({ route: req.routeOptions.url, reason }, 'webhook refused');
    return reply.code(401).send({ error: 'unauthorized webhook', reason });
  };

  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.webhook) return;
    const checked = await check(req);
    if (!checked.ok) return refuse(req, reply, checked.reason);
    const key = opts.keys.webhookReplay(checked.replay.scheme, checked.replay.value);
    const ttlS = Math.max(1, Math.ceil(checked.replay.acceptedUntil - Date.now() / 1000)) + REPLAY_MARGIN_S;
    const claim = `${Date.now()}-${randomUUID()}`;
    const claimed = await opts.deadline(() => {
      // Known before the answer: a claim sent while Redis went away may still land after our 503,
      // and must then be released, or the provider's retry of this very request would be a "replay".
      req.replay = { key, claim };
      return opts.redis.set(key, claim, 'EX', ttlS, 'NX');
    });
    if (claimed !== 'OK') {
      req.replay = undefined;
      return refuse(req, reply, `replayed: this ${checked.replay.scheme} was already seen`);
    }
  });

  // A request we failed (5xx) did not take effect: its retry, even with the same signature, may pass.
  // Issued before the answer goes out (not awaited: with Redis away it waits in the connection's
  // queue, behind the claim, and runs after it when Redis is back).
  app.addHook('onSend', async (req, reply, payload) => {
    const replay = req.replay;
    if (replay && reply.statusCode >= 500) {
      opts.redis.eval(RELEASE_CLAIM, 1, replay.key, replay.claim).catch((err: unknown) => req.log.warn({ err }, 'replay claim not released'));
    }
    return payload;
  });
};

/** The SMS API's parameters as strings (what `sig` covers), or the reason they cannot be. */
function stringParams(input: unknown): Record<string, string> | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'missing sig';
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else return `parameter ${k} is not a single value`;
  }
  return out;
}

export const webhookSignatures = fp(plugin, { name: 'webhook-signatures', fastify: '5.x' });
