import { createHash, createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  equalInConstantTime,
  signMessagesWebhook,
  SMS_SIGNATURE_METHODS,
  smsSignature,
  verifyMessagesWebhook,
  verifySmsSignature,
} from '../src/signatures.ts';

const SECRET = 'a-signature-secret-of-32-characters!';
const body = JSON.stringify({ channel: 'sms', message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', text: 'MSFT' });

describe('Messages API signed webhooks', () => {
  it('accepts a token signed with the secret over this exact body', async () => {
    const authorization = await signMessagesWebhook({ rawBody: body, secret: SECRET, apiKey: 'abc123' });
    const r = await verifyMessagesWebhook({ authorization, rawBody: body, secret: SECRET });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.iss).toBe('Vonage');
      expect(r.value.api_key).toBe('abc123');
      expect(r.value.payload_hash).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });

  it('refuses a tampered body', async () => {
    const authorization = await signMessagesWebhook({ rawBody: body, secret: SECRET });
    const r = await verifyMessagesWebhook({ authorization, rawBody: body.replace('MSFT', 'STOP'), secret: SECRET });
    expect(r).toEqual({ ok: false, reason: 'payload_hash does not match the body' });
  });

  it('refuses a token signed with another secret', async () => {
    const authorization = await signMessagesWebhook({ rawBody: body, secret: 'another-secret-another-secret-xx' });
    expect(await verifyMessagesWebhook({ authorization, rawBody: body, secret: SECRET })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a stale token and one from the future', async () => {
    const now = Date.now();
    const old = await signMessagesWebhook({ rawBody: body, secret: SECRET, iat: Math.floor(now / 1000) - 600 });
    const r1 = await verifyMessagesWebhook({ authorization: old, rawBody: body, secret: SECRET, now: () => now });
    expect(r1.ok).toBe(false);
    expect(!r1.ok && r1.reason).toMatch(/stale/);
    const future = await signMessagesWebhook({ rawBody: body, secret: SECRET, iat: Math.floor(now / 1000) + 600 });
    const r2 = await verifyMessagesWebhook({ authorization: future, rawBody: body, secret: SECRET, now: () => now });
    expect(r2.ok).toBe(false);
  });

  it('refuses a missing or malformed Authorization header', async () => {
    expect(await verifyMessagesWebhook({ authorization: undefined, rawBody: body, secret: SECRET })).toEqual({ ok: false, reason: 'missing Authorization header' });
    expect((await verifyMessagesWebhook({ authorization: 'Basic abc', rawBody: body, secret: SECRET })).ok).toBe(false);
    expect((await verifyMessagesWebhook({ authorization: 'Bearer not.a.jwt', rawBody: body, secret: SECRET })).ok).toBe(false);
  });

  it('accepts only HS256: an unsigned ("none") or HS512 token is refused', async () => {
    const payload_hash = createHash('sha256').update(body).digest('hex');
    const hs512 = await new SignJWT({ payload_hash }).setProtectedHeader({ alg: 'HS512' }).setIssuedAt().sign(new TextEncoder().encode(SECRET));
    expect(await verifyMessagesWebhook({ authorization: `Bearer ${hs512}`, rawBody: body, secret: SECRET })).toEqual({ ok: false, reason: 'signature algorithm is not HS256' });
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ payload_hash, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    expect((await verifyMessagesWebhook({ authorization: `Bearer ${header}.${claims}.`, rawBody: body, secret: SECRET })).ok).toBe(false);
  });

  it('refuses a token without payload_hash', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(SECRET));
    expect(await verifyMessagesWebhook({ authorization: `Bearer ${token}`, rawBody: body, secret: SECRET })).toEqual({ ok: false, reason: 'token has no payload_hash' });
  });
});

describe('SMS API sig', () => {
  const params = { msisdn: '447700900123', to: '447700900000', messageId: '0A0000001234', text: 'a=b&c', 'message-timestamp': '2026-11-24 10:00:00', timestamp: '1795516800', nonce: 'n-1' };
  const base = '&message-timestamp=2026-11-24 10:00:00&messageId=0A0000001234&msisdn=447700900123&nonce=n-1&text=a_b_c&timestamp=1795516800&to=447700900000';

  it('md5hash is MD5 of the sorted, sanitized parameters followed by the secret', () => {
    expect(smsSignature(params, SECRET, 'md5hash')).toBe(createHash('md5').update(base + SECRET).digest('hex'));
  });

  it.each(['md5', 'sha1', 'sha256', 'sha512'] as const)('%s is an HMAC of the same string keyed by the secret', (method) => {
    expect(smsSignature(params, SECRET, method)).toBe(createHmac(method, SECRET).update(base).digest('hex'));
  });

  it.each(SMS_SIGNATURE_METHODS)('%s: a valid sig passes in lower or upper case; a tampered parameter, another secret, a stale timestamp do not', (method) => {
    const now = () => 1795516800 * 1000 + 10_000;
    const sig = smsSignature(params, SECRET, method);
    expect(verifySmsSignature({ ...params, sig }, SECRET, method, { now }).ok).toBe(true);
    expect(verifySmsSignature({ ...params, sig: sig.toUpperCase() }, SECRET, method, { now }).ok).toBe(true);
    expect(verifySmsSignature({ ...params, text: 'STOP', sig }, SECRET, method, { now })).toEqual({ ok: false, reason: 'bad sig' });
    expect(verifySmsSignature({ ...params, sig: smsSignature(params, 'other', method) }, SECRET, method, { now }).ok).toBe(false);
    expect(verifySmsSignature({ ...params, sig }, SECRET, method, { now: () => 1795516800 * 1000 + 3_600_000 }).ok).toBe(false);
    expect(verifySmsSignature(params, SECRET, method, { now })).toEqual({ ok: false, reason: 'missing sig' });
  });
});

describe('how long a signed SMS webhook stays acceptable (issue 19 item 13)', () => {
  const at = 1795516800;
  const signed = (timestamp: number) => {
    const p = { msisdn: '447700900123', text: 'STOP', timestamp: String(timestamp), nonce: 'n-1' };
    return { ...p, sig: smsSignature(p, SECRET, 'md5hash') };
  };
  const nowS = (s: number) => () => s * 1000;

  it('a timestamp up to maxAge ahead is accepted, and acceptedUntil says until when: maxAge after the timestamp', () => {
    const r = verifySmsSignature(signed(at + 290), SECRET, 'md5hash', { now: nowS(at), maxAgeSeconds: 300 });
    expect(r).toEqual({ ok: true, value: { timestamp: at + 290, nonce: 'n-1', acceptedUntil: at + 590 } });
  });

  it('the same request is accepted up to acceptedUntil and refused after it: its nonce must be kept that long', () => {
    const params = signed(at + 290);
    expect(verifySmsSignature(params, SECRET, 'md5hash', { now: nowS(at + 590) }).ok).toBe(true);
    expect(verifySmsSignature(params, SECRET, 'md5hash', { now: nowS(at + 591) }).ok).toBe(false);
  });
});

describe('equalInConstantTime', () => {
  it('compares content, and different lengths are unequal', () => {
    expect(equalInConstantTime('abc', 'abc')).toBe(true);
    expect(equalInConstantTime('abc', 'abd')).toBe(false);
    expect(equalInConstantTime('abc', 'abcd')).toBe(false);
  });
});
