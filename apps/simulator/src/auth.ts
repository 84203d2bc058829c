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

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Returns undefined when the Authorization header is good, else the reason it is not. */
export async function checkAuthorization(header: string | undefined, creds: SimulatorCredentials): Promise<string | undefined> {
  if (!header) return 'missing Authorization header';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme === 'Bearer') {
    if (!creds.application) return 'JWT auth is not configured for this account';
    try {
      const { payload } = await jwtVerify(value, creds.application.publicKey, { algorithms: ['RS256'] });
      if (payload.application_id !== creds.application.id) return 'application_id does not match';
      if (typeof payload.iat !== 'number') return 'iat missing';
      if (typeof payload.jti !== 'string' || payload.jti === '') return 'jti missing';
      return undefined;
    } catch (err) {
      return `invalid JWT: ${(err as Error).message}`;
    }
  }
  if (scheme === 'Basic') {
    if (!creds.basic) return 'Basic auth is not configured for this account';
    const decoded = Buffer.from(value, 'base64').toString();
    return safeEqual(decoded, `${creds.basic.apiKey}:${creds.basic.apiSecret}`) ? undefined : 'wrong api key or secret';
  }
  return 'unsupported authorization scheme';
}
