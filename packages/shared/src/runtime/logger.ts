import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths whose values never reach a log line: secrets, tokens and phone numbers (the subscriber
 * id embeds the number). Masked values keep the last few digits so an operator can still
 * correlate.
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'privateKey',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.privateKey',
  'req.headers.authorization',
  'headers.authorization',
  'VONAGE_PRIVATE_KEY',
  'VONAGE_API_SECRET',
  'VONAGE_SIGNATURE_SECRET',
  '*.VONAGE_PRIVATE_KEY',
  '*.VONAGE_API_SECRET',
  '*.VONAGE_SIGNATURE_SECRET',
  'to',
  'from',
  'msisdn',
  'address',
  'subscriberId',
  '*.to',
  '*.from',
  '*.msisdn',
  '*.address',
  '*.subscriberId',
];

/** `447700900123` -> `*******0123`; keeps the channel prefix of a subscriber id. */
export function maskAddress(value: unknown): string {
  if (typeof value !== 'string') return '[redacted]';
  const colon = value.indexOf(':');
  const prefix = colon >= 0 ? value.slice(0, colon + 1) : '';
  const rest = colon >= 0 ? value.slice(colon + 1) : value;
  return prefix + (rest.length <= 4 ? '****' : '*'.repeat(rest.length - 4) + rest.slice(-4));
}

const SECRET_KEYS = new Set(['password', 'secret', 'token', 'authorization', 'privateKey']);

export function createLogger(name: string, level: string, options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: REDACT_PATHS,
      censor: (value, path) => {
        const last = path[path.length - 1] ?? '';
        return SECRET_KEYS.has(last) || last.startsWith('VONAGE_') ? '[redacted]' : maskAddress(value);
      },
    },
    ...options,
  });
}

export type { Logger };
