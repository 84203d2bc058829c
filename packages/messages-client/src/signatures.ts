import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/*
 * Webhook signatures as Vonage documents them: the Messages API's JWT
 * (https://developer.vonage.com/en/messages/concepts/signed-webhooks) and the SMS API's `sig`
 * (https://developer.vonage.com/en/getting-started/concepts/signing-messages). Stricter than
 * Vonage's own SDK: HS256 only (no algorithm confusion), the payload hash is checked against the
 * raw body, the token's age is bounded, and every comparison is constant-time.
 */

export type VerifyResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Equality of two strings whose time tells nothing, not even whether their lengths differ: what a secret's check needs. */
export function equalInConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export interface MessagesWebhookClaims extends JWTPayload {
  payload_hash?: string;
  api_key?: string;
  application_id?: string;
}

export interface VerifyMessagesWebhookOptions {
  /** The `Authorization` header as received. */
  authorization: string | undefined;
  /** The request body exactly as received (before JSON parsing). */
  rawBody: string | Buffer;
  secret: string;
  /** Oldest acceptable `iat`, in seconds (default 300). */
  maxAgeSeconds?: number;
  /** Tolerated clock skew for a token from the future, in seconds (default 30). */
  clockSkewSeconds?: number;
  now?: () => number;
}

/** Verifies a Messages API signed webhook: HS256 JWT with the signature secret, `payload_hash`, `iat` window. */
export async function verifyMessagesWebhook(opts: VerifyMessagesWebhookOptions): Promise<VerifyResult<MessagesWebhookClaims>> {
  const header = opts.authorization;
  if (!header) return { ok: false, reason: 'missing Authorization header' };
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) return { ok: false, reason: 'Authorization is not a Bearer token' };
  const nowMs = (opts.now ?? Date.now)();
  let claims: MessagesWebhookClaims;
  try {
    ({ payload: claims } = await jwtVerify<MessagesWebhookClaims>(match[1]!, new TextEncoder().encode(opts.secret), {
      algorithms: ['HS256'],
      currentDate: new Date(nowMs),
      clockTolerance: opts.clockSkewSeconds ?? 30,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEAlgNotAllowed) return { ok: false, reason: 'signature algorithm is not HS256' };
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return { ok: false, reason: 'bad signature' };
    if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'token expired' };
    return { ok: false, reason: `invalid token: ${(err as Error).message}` };
  }
  if (typeof claims.iat !== 'number') return { ok: false, reason: 'token has no iat' };
  const ageS = nowMs / 1000 - claims.iat;
  if (ageS > (opts.maxAgeSeconds ?? 300)) return { ok: false, reason: `token is stale (${Math.round(ageS)} s old)` };
  if (ageS < -(opts.clockSkewSeconds ?? 30)) return { ok: false, reason: 'token issued in the future' };
  if (typeof claims.payload_hash !== 'string') return { ok: false, reason: 'token has no payload_hash' };
  if (!equalInConstantTime(claims.payload_hash.toLowerCase(), sha256Hex(opts.rawBody))) return { ok: false, reason: 'payload_hash does not match the body' };
  return { ok: true, value: claims };
}

/** Signs a webhook body the way Vonage does (used by the simulator, and by tests). */
export async function signMessagesWebhook(opts: {
  rawBody: string | Buffer;
  secret: string;
  apiKey?: string;
  applicationId?: string;
  iat?: number;
}): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    payload_hash: sha256Hex(opts.rawBody),
    ...(opts.apiKey !== undefined && { api_key: opts.apiKey }),
    ...(opts.applicationId !== undefined && { application_id: opts.applicationId }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Vonage')
    .setIssuedAt(iat)
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(opts.secret));
  return `Bearer ${token}`;
}

export const SMS_SIGNATURE_METHODS = ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const;
export type SmsSignatureMethod = (typeof SMS_SIGNATURE_METHODS)[number];

/** The SMS API's `sig`: sorted `&name=value` pairs (with `&` and `=` in values replaced by `_`), then MD5 with the secret appended, or an HMAC keyed by it. */
export function smsSignature(params: Record<string, string>, secret: string, method: SmsSignatureMethod): string {
  const base = Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `&${k}=${String(params[k]).replace(/[&=]/g, '_')}`)
    .join('');
  if (method === 'md5hash') return createHash('md5').update(base + secret).digest('hex');
  return createHmac(method, secret).update(base).digest('hex');
}

export interface VerifySmsSignatureOptions {
  maxAgeSeconds?: number;
  now?: () => number;
}

/**
 * Verifies an SMS API webhook's `sig` (either hex case) and the freshness of its signed
 * `timestamp`, accepted up to `maxAgeSeconds` off either way. `acceptedUntil` (epoch seconds) is
 * when this same request stops being accepted: its nonce must be remembered until then, or a
 * request stamped ahead of our clock could be replayed after the nonce was forgotten.
 */
export function verifySmsSignature(
  params: Record<string, string>,
  secret: string,
  method: SmsSignatureMethod,
  opts: VerifySmsSignatureOptions = {},
): VerifyResult<{ timestamp: number; nonce: string | undefined; acceptedUntil: number }> {
  const sig = params.sig;
  if (!sig) return { ok: false, reason: 'missing sig' };
  const expected = smsSignature(params, secret, method);
  if (!equalInConstantTime(sig.toLowerCase(), expected)) return { ok: false, reason: 'bad sig' };
  const timestamp = Number(params.timestamp);
  if (!Number.isFinite(timestamp)) return { ok: false, reason: 'missing timestamp' };
  const maxAge = opts.maxAgeSeconds ?? 300;
  const ageS = (opts.now ?? Date.now)() / 1000 - timestamp;
  if (Math.abs(ageS) > maxAge) return { ok: false, reason: `timestamp is ${Math.round(ageS)} s off` };
  return { ok: true, value: { timestamp, nonce: params.nonce, acceptedUntil: timestamp + maxAge } };
}
