import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger, loadConfig, maskAddress, type Logger } from '@tickercast/shared';

/** A logger as the apps create it, whose serialized lines (after redaction) are captured instead of written. */
function capturingLogger(level = 'trace'): { logger: Logger; output: () => string; lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const logger = createLogger('test', level, {
    hooks: {
      streamWrite: (s: string) => {
        written.push(s);
        return '';
      },
    },
  });
  return {
    logger,
    output: () => written.join(''),
    lines: () => written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const NUMBER = '447700900123';
const OTHER = '14155550199';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_BODY = PEM.split('\n')[1] ?? '';
const API_SECRET = 'sEcReT-0f-the-aPi-77';
const SIGNATURE_SECRET = 'sig-secret-b9f3e1d2';
const BEARER = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhcHBsaWNhdGlvbl9pZCI6ImFiYyJ9.c2lnbmF0dXJl';

describe('logger redaction', () => {
  it('never writes a full phone number, only its last four digits', () => {
    const { logger, output, lines } = capturingLogger();
    logger.info({ to: NUMBER, from: OTHER, msisdn: NUMBER, subscriberId: `whatsapp:${NUMBER}`, address: NUMBER }, 'top level');
    logger.info({ message: { to: NUMBER, from: OTHER }, job: { subscriberId: `sms:${NUMBER}`, msisdn: OTHER, address: OTHER } }, 'nested');
    const out = output();
    expect(out).not.toContain(NUMBER);
    expect(out).not.toContain(OTHER);
    expect(out).toContain('0123');
    expect(out).toContain('0199');
    const [top, nested] = lines();
    expect(top).toMatchObject({ to: '********0123', from: '*******0199', msisdn: '********0123', subscriberId: 'whatsapp:********0123' });
    expect(nested).toMatchObject({ message: { to: '********0123', from: '*******0199' }, job: { subscriberId: 'sms:********0123' } });
  });

  it('never writes a private key, an API secret, a signature secret or an authorization header', () => {
    const { logger, output } = capturingLogger();
    const config = loadConfig({
      VONAGE_APPLICATION_ID: 'app-id',
      VONAGE_PRIVATE_KEY: PEM,
      VONAGE_API_KEY: 'abcd1234',
      VONAGE_API_SECRET: API_SECRET,
      VONAGE_SIGNATURE_SECRET: SIGNATURE_SECRET,
    });
    logger.info({ config }, 'starting');
    logger.info({ ...config }, 'flat config');
    logger.info({ req: { method: 'POST', headers: { authorization: BEARER } } }, 'request');
    logger.info({ headers: { authorization: BEARER } }, 'headers');
    logger.info({ auth: { kind: 'jwt', privateKey: PEM, secret: API_SECRET, token: BEARER, password: API_SECRET } }, 'auth');
    logger.info({ authorization: BEARER, privateKey: PEM, secret: API_SECRET, token: BEARER }, 'bare');
    const out = output();
    expect(out).not.toContain(PEM_BODY);
    expect(out).not.toContain('PRIVATE KEY');
    expect(out).not.toContain(API_SECRET);
    expect(out).not.toContain(SIGNATURE_SECRET);
    expect(out).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    expect(out).toContain('[redacted]');
    // The rest of the line is kept: redaction is targeted.
    expect(out).toContain('app-id');
    expect(out).toContain('"method":"POST"');
  });

  it('child loggers redact too', () => {
    const { logger, output } = capturingLogger();
    logger.child({ component: 'send' }).warn({ to: NUMBER, authorization: BEARER }, 'child');
    const out = output();
    expect(out).not.toContain(NUMBER);
    expect(out).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    expect(out).toContain('0123');
  });

  it('lines below the level are not written', () => {
    const { logger, lines } = capturingLogger('warn');
    logger.info('quiet');
    logger.warn('loud');
    expect(lines().map((l) => l.msg)).toEqual(['loud']);
  });
});

describe('maskAddress', () => {
  it('keeps the last four digits and the channel prefix', () => {
    expect(maskAddress('447700900123')).toBe('********0123');
    expect(maskAddress('sms:447700900123')).toBe('sms:********0123');
    expect(maskAddress('viber_service:447700900123')).toBe('viber_service:********0123');
  });

  it('masks short values entirely and non-strings as redacted', () => {
    expect(maskAddress('1234')).toBe('****');
    expect(maskAddress('12')).toBe('****');
    expect(maskAddress(447700900123)).toBe('[redacted]');
    expect(maskAddress(undefined)).toBe('[redacted]');
  });
});
