import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSimulator, type Simulator } from '../src/app.ts';
import { credentialsFrom } from '../src/auth.ts';

/*
 * POST /v1/messages refuses what Vonage refuses, with Vonage's RFC 7807 401 problem, and
 * accepts nothing into the store while doing so.
 */

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
const applicationId = randomUUID();
const basic = { apiKey: 'a1b2c3d4', apiSecret: 'Secret-0123456789' };

const validBody = { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };

interface TokenOptions {
  key?: KeyObject | Uint8Array;
  alg?: string;
  claims?: Record<string, unknown>;
  iat?: number | false;
  exp?: number | false;
  jti?: string | false;
}

/** A token like Vonage's SDK makes, with any part of it replaced. */
async function token(opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ application_id: applicationId, ...opts.claims }).setProtectedHeader({ alg: opts.alg ?? 'RS256', typ: 'JWT' });
  if (opts.iat !== false) jwt.setIssuedAt(opts.iat ?? now);
  if (opts.exp !== false) jwt.setExpirationTime(opts.exp ?? now + 900);
  if (opts.jti !== false) jwt.setJti(opts.jti ?? randomUUID());
  return jwt.sign(opts.key ?? privateKey);
}

const basicHeader = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

let sim: Simulator;

beforeAll(async () => {
  sim = buildSimulator({
    credentials: credentialsFrom({ applicationId, privateKey: privatePem, ...basic }),
    webhookBaseUrl: 'http://127.0.0.1:9',
    businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
  });
  await sim.app.ready();
});

afterAll(async () => {
  await sim?.app.close();
});

beforeEach(() => sim.store.reset());

async function post(authorization: string | undefined, payload: unknown = validBody) {
  return sim.app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: authorization === undefined ? {} : { authorization },
    payload: payload as Record<string, unknown>,
  });
}

describe('refused credentials get a 401 problem', () => {
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = Math.floor(Date.now() / 1000);

  it.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['no Authorization header', async () => undefined, /missing/],
    ['a garbage Authorization header', async () => 'let me in', /unsupported/],
    ['a Bearer scheme with no token', async () => 'Bearer', /invalid JWT/],
    ['a Bearer token that is not a JWT', async () => 'Bearer not.a.jwt', /invalid JWT/],
    ['an RS256 token signed by another key', async () => `Bearer ${await token({ key: otherKey })}`, /signature/],
    // Algorithm confusion: HMAC keyed with the application's public key, which anyone can know.
    ['an HS256 token keyed with the public key', async () => `Bearer ${await token({ alg: 'HS256', key: new TextEncoder().encode(publicPem) })}`, /invalid JWT/],
    ['an unsigned (alg none) token', async () => `Bearer ${new UnsecuredJWT({ application_id: applicationId, jti: randomUUID() }).setIssuedAt().encode()}`, /invalid JWT/],
    ['an expired token', async () => `Bearer ${await token({ iat: now - 1000, exp: now - 100 })}`, /exp/],
    ['a token for another application', async () => `Bearer ${await token({ claims: { application_id: randomUUID() } })}`, /application_id/],
    ['a token without application_id', async () => `Bearer ${await token({ claims: { application_id: undefined } })}`, /application_id/],
    ['a token without jti', async () => `Bearer ${await token({ jti: false })}`, /jti/],
    ['a token without iat', async () => `Bearer ${await token({ iat: false })}`, /iat/],
    ['Basic auth with the wrong secret', async () => basicHeader(basic.apiKey, 'Secret-0123456780'), /wrong api key or secret/],
    ['Basic auth with an unknown key', async () => basicHeader('zzzzzzzz', basic.apiSecret), /wrong api key or secret/],
    ['Basic auth with the key alone', async () => `Basic ${Buffer.from(basic.apiKey).toString('base64')}`, /wrong api key or secret/],
    ['Basic auth that is not base64 of anything', async () => 'Basic !!!!', /wrong api key or secret/],
  ])('%s', async (_name, header, reason) => {
    const res = await post(await header());

    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<Record<string, unknown>>();
    expect(Object.keys(problem).sort()).toEqual(['detail', 'instance', 'title', 'type']);
    expect(problem.type).toMatch(/^https:\/\/developer\.vonage\.com\/api-errors/);
    expect(problem.title).toEqual(expect.any(String));
    expect(problem.detail).toMatch(reason);
    expect(problem.instance).toMatch(/^[0-9a-f]{32}$/);
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('checks credentials before the body: a bad body with bad credentials is a 401, not a 422', async () => {
    const res = await post(undefined, { channel: 'telegram' });
    expect(res.statusCode).toBe(401);
  });

  it('gives each problem its own instance id', async () => {
    const a = (await post(undefined)).json<{ instance: string }>();
    const b = (await post(undefined)).json<{ instance: string }>();
    expect(a.instance).not.toBe(b.instance);
  });
});

describe('accepted credentials', () => {
  it('a fresh RS256 application token is accepted', async () => {
    const res = await post(`Bearer ${await token()}`);
    expect(res.statusCode).toBe(202);
    expect(sim.store.acceptedTotal).toBe(1);
  });

  it('the same token may be used for many requests while it lives', async () => {
    const header = `Bearer ${await token()}`;
    for (let i = 0; i < 3; i++) expect((await post(header)).statusCode).toBe(202);
    expect(sim.store.acceptedTotal).toBe(3);
  });

  it('a token once verified is taken from the cache only while it lives: expired, it is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = `Bearer ${await token({ iat: now, exp: now + 1 })}`;
    expect((await post(header)).statusCode).toBe(202);
    expect((await post(header)).statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, (now + 1) * 1000 - Date.now() + 50));
    const res = await post(header);
    expect(res.statusCode).toBe(401);
    expect(res.json<{ detail: string }>().detail).toMatch(/exp/);
  });

  it('a cached token does not vouch for another token: a tampered copy is still checked', async () => {
    const good = await token();
    expect((await post(`Bearer ${good}`)).statusCode).toBe(202);
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${'A'.repeat(342)}`;
    expect((await post(`Bearer ${forged}`)).statusCode).toBe(401);
  });

  it('Basic auth with the right key and secret is accepted', async () => {
    const res = await post(basicHeader(basic.apiKey, basic.apiSecret));
    expect(res.statusCode).toBe(202);
  });
});

describe('an account with only one kind of credentials', () => {
  it('refuses Basic auth when only an application is configured, and JWTs when only Basic is', async () => {
    const appOnly = buildSimulator({
      credentials: credentialsFrom({ applicationId, privateKey: privatePem }),
      webhookBaseUrl: 'http://127.0.0.1:9',
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
    });
    const basicOnly = buildSimulator({
      credentials: credentialsFrom(basic),
      webhookBaseUrl: 'http://127.0.0.1:9',
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
    });
    try {
      const viaBasic = await appOnly.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: basicHeader(basic.apiKey, basic.apiSecret) }, payload: validBody });
      const viaJwt = await basicOnly.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: `Bearer ${await token()}` }, payload: validBody });
      expect(viaBasic.statusCode).toBe(401);
      expect(viaBasic.json<{ detail: string }>().detail).toMatch(/Basic auth is not configured/);
      expect(viaJwt.statusCode).toBe(401);
      expect(viaJwt.json<{ detail: string }>().detail).toMatch(/JWT auth is not configured/);
    } finally {
      await appOnly.app.close();
      await basicOnly.app.close();
    }
  });
});
