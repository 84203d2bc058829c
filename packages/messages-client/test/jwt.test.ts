import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasicAuthorizer, JwtAuthorizer, MessagesClient } from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../../apps/simulator/src/auth.ts';

const { privateKey: keyObject } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKey = createPublicKey(privateKey);
const applicationId = randomUUID();

function tokenOf(header: string): string {
  expect(header).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  return header.slice('Bearer '.length);
}

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('the application JWT', () => {
  it('is RS256, verifies with the public key, and carries application_id, iat, exp = iat + 15 min and a jti', async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = tokenOf(await new JwtAuthorizer(applicationId, privateKey).header());
    const after = Math.floor(Date.now() / 1000);

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, publicKey, { algorithms: ['RS256'] });
    expect(payload.application_id).toBe(applicationId);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect(payload.exp).toBe(payload.iat! + 900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not verify with another key', async () => {
    const token = tokenOf(await new JwtAuthorizer(applicationId, privateKey).header());
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    await expect(jwtVerify(token, other, { algorithms: ['RS256'] })).rejects.toThrow(/signature/i);
  });

  it('lives for the configured ttl', async () => {
    const clock = manualClock(Date.UTC(2025, 0, 6, 14, 30, 0));
    const token = tokenOf(await new JwtAuthorizer(applicationId, privateKey, 60, clock.now).header());
    const payload = decodeJwt(token);
    expect(payload.iat).toBe(Date.UTC(2025, 0, 6, 14, 30, 0) / 1000);
    expect(payload.exp).toBe(payload.iat! + 60);
  });

  it('is reused across calls instead of being signed per request', async () => {
    const auth = new JwtAuthorizer(applicationId, privateKey);
    const first = await auth.header();
    expect(await auth.header()).toBe(first);
    expect(await auth.header()).toBe(first);
  });

  it('is signed once when many calls ask for it at the same time', async () => {
    const auth = new JwtAuthorizer(applicationId, privateKey);
    const headers = await Promise.all(Array.from({ length: 20 }, () => auth.header()));
    expect(new Set(headers).size).toBe(1);
  });

  it('is kept until 80% of its ttl has passed, then replaced by a fresh one with a new jti', async () => {
    const start = Date.UTC(2025, 0, 6, 14, 30, 0);
    const clock = manualClock(start);
    const auth = new JwtAuthorizer(applicationId, privateKey, 100, clock.now);

    const first = tokenOf(await auth.header());
    clock.advance(79_999);
    expect(tokenOf(await auth.header())).toBe(first);

    clock.advance(1);
    const second = tokenOf(await auth.header());
    expect(second).not.toBe(first);

    const a = decodeJwt(first);
    const b = decodeJwt(second);
    expect(b.jti).not.toBe(a.jti);
    expect(b.iat).toBe(start / 1000 + 80);
    expect(b.exp).toBe(start / 1000 + 180);
    // The fresh token still verifies, at the time the clock says.
    const { payload } = await jwtVerify(second, publicKey, { algorithms: ['RS256'], currentDate: new Date(clock.now()) });
    expect(payload.application_id).toBe(applicationId);

    // And it is in turn reused until its own 80% mark.
    clock.advance(79_999);
    expect(tokenOf(await auth.header())).toBe(second);
  });

  it('refreshes 12 minutes into the default 15-minute lifetime', async () => {
    const clock = manualClock(Date.UTC(2025, 0, 6, 9, 0, 0));
    const auth = new JwtAuthorizer(applicationId, privateKey, undefined, clock.now);
    const first = await auth.header();
    clock.advance(12 * 60_000 - 1);
    expect(await auth.header()).toBe(first);
    clock.advance(1);
    expect(await auth.header()).not.toBe(first);
  });

  it('gives distinct jtis to tokens from distinct authorizers signed in the same second', async () => {
    const clock = manualClock(Date.UTC(2025, 0, 6, 9, 0, 0));
    const jtis = await Promise.all(
      Array.from({ length: 5 }, async () => decodeJwt(tokenOf(await new JwtAuthorizer(applicationId, privateKey, 900, clock.now).header())).jti),
    );
    expect(new Set(jtis).size).toBe(5);
  });

  it('fails at first use when the private key is not a PKCS#8 PEM', async () => {
    const auth = new JwtAuthorizer(applicationId, 'not a key');
    await expect(auth.header()).rejects.toThrow();
  });
});

describe('Basic auth', () => {
  it('is base64(api_key:api_secret)', async () => {
    const header = await new BasicAuthorizer('a1b2c3d4', 'Secret:0123').header();
    expect(header).toBe(`Basic ${Buffer.from('a1b2c3d4:Secret:0123').toString('base64')}`);
  });
});

describe('on the wire', () => {
  let sim: Simulator;
  let client: MessagesClient;
  const authorizations: (string | undefined)[] = [];

  beforeAll(async () => {
    sim = buildSimulator({
      credentials: credentialsFrom({ applicationId, privateKey }),
      webhookBaseUrl: 'http://127.0.0.1:9',
      businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
    });
    sim.app.addHook('onRequest', async (req) => {
      authorizations.push(req.headers.authorization);
    });
    const url = await sim.app.listen({ port: 0, host: '127.0.0.1' });
    client = new MessagesClient({ baseUrl: url, auth: { kind: 'jwt', applicationId, privateKey } });
  });

  afterAll(async () => {
    client?.close();
    await sim?.app.close();
  });

  it('the client sends the same accepted token with consecutive messages', async () => {
    await client.send({ channel: 'sms', to: '447700900123', from: 'Tickercast', text: 'one' });
    await client.send({ channel: 'sms', to: '447700900123', from: 'Tickercast', text: 'two' });
    await client.send({ channel: 'whatsapp', to: '447700900123', from: '447700900001', text: 'three' });

    expect(authorizations).toHaveLength(3);
    expect(new Set(authorizations).size).toBe(1);
    expect(sim.store.acceptedTotal).toBe(3);
    const { payload } = await jwtVerify(tokenOf(authorizations[0]!), publicKey, { algorithms: ['RS256'] });
    expect(payload.application_id).toBe(applicationId);
  });
});
