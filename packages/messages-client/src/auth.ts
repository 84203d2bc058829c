import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { AuthConfigurationError } from './errors.ts';

export type AuthConfig =
  | { kind: 'jwt'; applicationId: string; privateKey: string; ttlSeconds?: number }
  | { kind: 'basic'; apiKey: string; apiSecret: string };

export interface Authorizer {
  /** The value of the Authorization header for the next request. */
  header(): Promise<string>;
}

/**
 * RS256 application JWTs, reused until shortly before expiry: minting one per request (as
 * Vonage's SDK does) costs an RSA signature per message.
 */
export class JwtAuthorizer implements Authorizer {
  readonly #applicationId: string;
  readonly #ttl: number;
  readonly #key: ReturnType<typeof importPKCS8>;
  #cached: { token: string; refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;
  readonly #now: () => number;

  constructor(applicationId: string, privateKeyPem: string, ttlSeconds = 900, now = Date.now) {
    this.#applicationId = applicationId;
    this.#ttl = ttlSeconds;
    // A bad key surfaces as a typed error at first use, never as an unhandled rejection.
    this.#key = importPKCS8(privateKeyPem, 'RS256').catch((cause: unknown) => {
      throw new AuthConfigurationError('the private key is not a PKCS#8 PEM RSA key', { cause });
    });
    this.#key.catch(() => undefined);
    this.#now = now;
  }

  async header(): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.refreshAt) return `Bearer ${cached.token}`;
    this.#pending ??= this.#mint().finally(() => (this.#pending = undefined));
    return `Bearer ${await this.#pending}`;
  }

  async #mint(): Promise<string> {
    const iat = Math.floor(this.#now() / 1000);
    const token = await new SignJWT({ application_id: this.#applicationId })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.#ttl)
      .setJti(randomUUID())
      .sign(await this.#key);
    // Refresh when four fifths of the lifetime has passed, so no request carries a token about to expire.
    this.#cached = { token, refreshAt: (iat + Math.floor(this.#ttl * 0.8)) * 1000 };
    return token;
  }
}

export class BasicAuthorizer implements Authorizer {
  readonly #value: string;
  constructor(apiKey: string, apiSecret: string) {
    this.#value = `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`;
  }
  header(): Promise<string> {
    return Promise.resolve(this.#value);
  }
}

export function createAuthorizer(config: AuthConfig): Authorizer {
  return config.kind === 'jwt'
    ? new JwtAuthorizer(config.applicationId, config.privateKey, config.ttlSeconds)
    : new BasicAuthorizer(config.apiKey, config.apiSecret);
}
