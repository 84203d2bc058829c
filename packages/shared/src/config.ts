import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const rate = (fallback: number) => z.coerce.number().positive().max(10_000).default(fallback);

const url = (fallback: string) =>
  z
    .url({ protocol: /^https?$/ })
    .default(fallback)
    .transform((v) => v.replace(/\/+$/, ''));

/** PEM text as is, or else a path to a file holding it. */
const pem = optionalString.transform((v, ctx) => {
  if (v === undefined || v.includes('-----BEGIN')) return v?.replace(/\\n/g, '\n');
  try {
    return readFileSync(v, 'utf8');
  } catch (cause) {
    ctx.addIssue({ code: 'custom', message: `neither PEM text nor a readable file (${(cause as Error).message})` });
    return z.NEVER;
  }
});

const symbols = z
  .string()
  .default('MSFT,GOOGL,AAPL,AMZN,NVDA')
  .transform((v) => v.split(/[\s,]+/).filter(Boolean).map((s) => s.toUpperCase()))
  .pipe(z.array(z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'symbols are 1-10 letters, digits or dots')).min(1));

/**
 * Every environment variable the system reads, with its default. README.md documents each one;
 * later features extend this schema, never rename a variable.
 */
export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    REDIS_NAMESPACE: z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or -, at most 32').default('tc'),

    HOST: z.string().default('0.0.0.0'),
    PORT: port(9000),
    PUBLIC_URL: url('http://localhost:9000'),

    VONAGE_API_URL: url('https://api.nexmo.com'),
    VONAGE_APPLICATION_ID: optionalString,
    VONAGE_PRIVATE_KEY: pem,
    VONAGE_API_KEY: optionalString,
    VONAGE_API_SECRET: optionalString,
    VONAGE_SIGNATURE_SECRET: optionalString,
    VONAGE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),

    SMS_FROM: z.string().default('447700900000'),
    WHATSAPP_FROM: z.string().default('447700900001'),
    MESSENGER_FROM: z.string().default('107083064136738'),
    VIBER_FROM: z.string().default('16273'),

    TICKER_SYMBOLS: symbols,
    TICK_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),

    DISPATCHER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
    // Sends per second per channel, across every dispatcher. Vonage's account default is 30/s per
    // API key over all channels; WhatsApp numbers hosted by Vonage take about 20/s.
    SMS_RATE_PER_SEC: rate(30),
    WHATSAPP_RATE_PER_SEC: rate(20),
    MESSENGER_RATE_PER_SEC: rate(30),
    VIBER_RATE_PER_SEC: rate(30),
    WHATSAPP_TEMPLATE_NAME: z.string().min(1).default('tickercast_price_update'),
    WHATSAPP_TEMPLATE_LOCALE: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a WhatsApp locale such as en_US').default('en_US'),
    MESSENGER_TAG: optionalString,
    VIBER_TTL_S: z.coerce.number().int().min(30).max(259_200).default(600),

    SIMULATOR_PORT: port(9100),
    SIMULATOR_WEBHOOK_URL: url('http://127.0.0.1:9000'),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.VONAGE_APPLICATION_ID) !== Boolean(env.VONAGE_PRIVATE_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.VONAGE_APPLICATION_ID ? 'VONAGE_PRIVATE_KEY' : 'VONAGE_APPLICATION_ID'],
        message: 'VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY go together (JWT auth)',
      });
    }
    if (Boolean(env.VONAGE_API_KEY) !== Boolean(env.VONAGE_API_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.VONAGE_API_KEY ? 'VONAGE_API_SECRET' : 'VONAGE_API_KEY'],
        message: 'VONAGE_API_KEY and VONAGE_API_SECRET go together (Basic auth)',
      });
    }
    // Runs even when another variable is bad, so one error names every bad variable at once.
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

export type Config = z.infer<typeof envSchema>;

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`));
}

/** For an app's main.ts: a bad environment stops the process with the reasons, exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
}

export type VonageAuth =
  | { kind: 'jwt'; applicationId: string; privateKey: string }
  | { kind: 'basic'; apiKey: string; apiSecret: string };

/** JWT when an application is configured (Vonage's recommended mode), else Basic, else none. */
export function vonageAuth(config: Config): VonageAuth | undefined {
  if (config.VONAGE_APPLICATION_ID && config.VONAGE_PRIVATE_KEY) {
    return { kind: 'jwt', applicationId: config.VONAGE_APPLICATION_ID, privateKey: config.VONAGE_PRIVATE_KEY };
  }
  if (config.VONAGE_API_KEY && config.VONAGE_API_SECRET) {
    return { kind: 'basic', apiKey: config.VONAGE_API_KEY, apiSecret: config.VONAGE_API_SECRET };
  }
  return undefined;
}

/** The configured send rate of each channel, per second. */
export function ratesFor(config: Config): Record<'sms' | 'whatsapp' | 'messenger' | 'viber_service', number> {
  return {
    sms: config.SMS_RATE_PER_SEC,
    whatsapp: config.WHATSAPP_RATE_PER_SEC,
    messenger: config.MESSENGER_RATE_PER_SEC,
    viber_service: config.VIBER_RATE_PER_SEC,
  };
}

/** The sender id for each channel, from config. */
export function senderFor(config: Config): Record<'sms' | 'whatsapp' | 'messenger' | 'viber_service', string> {
  return {
    sms: config.SMS_FROM,
    whatsapp: config.WHATSAPP_FROM,
    messenger: config.MESSENGER_FROM,
    viber_service: config.VIBER_FROM,
  };
}
