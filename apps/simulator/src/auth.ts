import { createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';

export interface SimulatorCredentials {
  /** JWT auth: tokens must be RS256 over this application's key. */
  application?: { id: string; publicKey: KeyObject };
  /** Basic auth. */
  basic?: { apiKey: string; apiSecret: string };
}

/** The public half of the application key, derived from the private PEM (as the dashboard does). */
export function credentialsFrom(opts: {
  applicationId?: string | undefined;
  privateKey?: string | undefined;
  apiKey?: string | undefined;
  apiSecret?: string | undefined;
}): SimulatorCredentials {
  return {
    ...(opts.applicationId && opts.privateKey
      ? { application: { id: opts.applicationId, publicKey: createPublicKey(opts.privateKey) } }
      : {}),
    ...(opts.apiKey && opts.apiSecret ? { basic: { apiKey: opts.apiKey, apiSecret: opts.apiSecret } } : {}),
  };
}

/**
 * Constant-time only when the lengths match: a length that differs returns at once. Enough for a
 * local stand-in; the client's equalInConstantTime hides the length too.
 */
function equalInConstantTimeIfSameLength(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Returns undefined when the Authorization header is good, else the reason it is not. With a
 * cache, a JWT once verified is taken on sight until its `exp` (the dispatcher reuses one token
 * for many requests; verifying RS256 each time would make the simulator the bottleneck).
 */
export async function checkAuthorization(
  header: string | undefined,
  creds: SimulatorCredentials,
  cache?: VerifiedTokenCache,
): Promise<string | undefined> {
  if (!header) return 'missing Authorization header';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme === 'Bearer') {
    if (!creds.application) return 'JWT auth is not configured for this account';
    if (cache?.has(value)) return undefined;
    try {
      const { payload } = await jwtVerify(value, creds.application.publicKey, { algorithms: ['RS256'] });
      if (payload.application_id !== creds.application.id) return 'application_id does not match';
      if (typeof payload.iat !== 'number') return 'iat missing';
      if (typeof payload.jti !== 'string' || payload.jti === '') return 'jti missing';
      if (typeof payload.exp === 'number') cache?.add(value, payload.exp * 1000);
      return undefined;
    } catch (err) {
      return `invalid JWT: ${(err as Error).message}`;
    }
  }
  if (scheme === 'Basic') {
    if (!creds.basic) return 'Basic auth is not configured for this account';
    const decoded = Buffer.from(value, 'base64').toString();
    return equalInConstantTimeIfSameLength(decoded, `${creds.basic.apiKey}:${creds.basic.apiSecret}`) ? undefined : 'wrong api key or secret';
  }
  return 'unsupported authorization scheme';
}

/** Tokens that verified, by their text, until they expire. Bounded: the oldest go first. */
export class VerifiedTokenCache {
  readonly #expires = new Map<string, number>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  has(token: string): boolean {
    const exp = this.#expires.get(token);
    if (exp === undefined) return false;
    if (exp > Date.now()) return true;
    this.#expires.delete(token);
    return false;
  }

  add(token: string, expMs: number): void {
    if (this.#expires.size >= this.#max) this.#expires.delete(this.#expires.keys().next().value!);
    this.#expires.set(token, expMs);
  }
}
