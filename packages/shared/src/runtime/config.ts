import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { API_CHANNELS, MESSAGES_API_CHANNELS } from '@tickercast/messages-client/channels';
import { CHANNEL_RULES, CHANNELS, type Channel } from '../channels.ts';
import { ConfigError } from './errors.ts';
import { SEND_PARTITIONS_MAX } from '../partitions.ts';

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

/** A DNS name: dot-separated labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** `host:port`, `[ipv6]:port`: one seed of a Redis Cluster, or why it is not one. */
function hostPort(item: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(item);
  if (!m) return `"${item}" is not host:port`;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (m[1] !== undefined ? !isIPv6(host) : /^[\d.]+$/.test(host) ? !isIPv4(host) : !HOSTNAME.test(host)) {
    return `"${item}": "${host}" is not a host name or an IP address`;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${item}": port ${m[3]} is not from 1 to 65535`;
  return { host, port };
}

/**
 * `host:port,host:port,…`: seeds of a Redis Cluster (a few are enough; the client learns the
 * rest from them). Unset, tickercast uses the one Redis at REDIS_URL.
 */
const clusterNodes = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const nodes: { host: string; port: number }[] = [];
  for (const raw of v.split(',')) {
    const item = raw.trim();
    const node = item === '' ? 'an empty item (two commas in a row, or one at an end): write host:port,host:port' : hostPort(item);
    if (typeof node === 'string') {
      ctx.addIssue({ code: 'custom', message: node });
      return z.NEVER;
    }
    if (nodes.some((n) => n.host === node.host && n.port === node.port)) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is listed twice` });
      return z.NEVER;
    }
    nodes.push(node);
  }
  return nodes;
});

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

const onOff = (fallback: 'on' | 'off') =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default(fallback)
    .transform((v) => v === 'on' || v === 'true' || v === '1');

// The simulator stands in for Vonage, so it limits every channel the Messages API has, not only ours.
const SIMULATOR_LIMIT_KEYS = [...API_CHANNELS, 'all'] as const;

/** `sms=30,whatsapp=20,all=30`: requests per rolling second per channel (`all`: the whole account); 0 or absent, unlimited. */
const simulatorRateLimits = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const limits: Partial<Record<(typeof SIMULATOR_LIMIT_KEYS)[number], number>> = {};
    for (const item of v.split(/[\s,]+/).filter(Boolean)) {
      const m = /^([a-z_]+)=(\d{1,6})$/.exec(item);
      const key = m?.[1] as (typeof SIMULATOR_LIMIT_KEYS)[number] | undefined;
      if (!m || !key || !SIMULATOR_LIMIT_KEYS.includes(key)) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not channel=N with channel one of ${SIMULATOR_LIMIT_KEYS.join(', ')}` });
        return z.NEVER;
      }
      limits[key] = Number(m[2]);
    }
    return limits;
  });

/** `447700900666,447700900667=undeliverable,447700900668=rejected:1050`: recipients whose messages fail (default rejected, code 1240). */
const simulatorFailNumbers = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const numbers: Record<string, { status: 'rejected' | 'undeliverable'; code: number }> = {};
    for (const item of v.split(/[\s,]+/).filter(Boolean)) {
      const m = /^([^=\s]{1,50})(?:=(rejected|undeliverable)(?::(\d{4}))?)?$/.exec(item);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not number[=rejected|undeliverable[:code]]` });
        return z.NEVER;
      }
      numbers[m[1]!] = { status: (m[2] as 'rejected' | 'undeliverable' | undefined) ?? 'rejected', code: Number(m[3] ?? 1240) };
    }
    return numbers;
  });

/** The simulator's faults, as `POST /_sim/faults` and SIMULATOR_FAULTS take them; given fields replace current ones. */
export const simulatorFaultsSchema = z.strictObject({
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  jitterMs: z.number().int().min(0).max(60_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  outage: z
    .strictObject({
      seconds: z.number().positive().max(86_400),
      mode: z.enum(['error', 'reset']).optional(),
      status: z.number().int().min(500).max(599).optional(),
    })
    .optional(),
  storm: z.strictObject({ seconds: z.number().positive().max(86_400), retryAfter: z.number().int().min(0).max(3600).optional() }).optional(),
});

/** Fault injection at start, as JSON (the same shape as `POST /_sim/faults`); durations count from the start. */
const simulatorFaults = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not JSON (${(err as Error).message})` });
    return z.NEVER;
  }
  const shape = simulatorFaultsSchema;
  const result = shape.safeParse(parsed);
  if (!result.success) {
    ctx.addIssue({ code: 'custom', message: z.prettifyError(result.error).replace(/\n/g, ' ') });
    return z.NEVER;
  }
  return result.data;
});

/** Docker's *_FILE habit: a secret read from a file, at least 16 characters like the variable itself. */
function secretFromFile(path: string | undefined, variable: string, ctx: z.RefinementCtx): string | undefined {
  if (!path) return undefined;
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    ctx.addIssue({ code: 'custom', path: [variable], message: `not a readable file (${(cause as Error).message})` });
    return undefined;
  }
  if (secret.length < 16) {
    ctx.addIssue({ code: 'custom', path: [variable], message: 'the file holds fewer than 16 characters' });
    return undefined;
  }
  return secret;
}

/**
 * A variable set to nothing (`PORT=`, `PORT=""`, or only blanks) is unset: it takes its default.
 * Compose files and shell scripts write `FOO=${FOO:-}` freely, and zod's coercion would otherwise
 * read "" as port 0, or refuse it as a URL, an enum value or a number.
 */
function withoutBlanks(env: unknown): unknown {
  if (typeof env !== 'object' || env === null) return env;
  return Object.fromEntries(Object.entries(env).filter(([, v]) => !(typeof v === 'string' && v.trim() === '')));
}

/**
 * Every environment variable the system reads, with its default. README.md documents each one;
 * later features extend this schema, never rename a variable.
 */
const variables = z.object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    // Seeds of a Redis Cluster; its password, user name and TLS come from REDIS_URL (whose host is then unused).
    REDIS_CLUSTER_NODES: clusterNodes,
    REDIS_NAMESPACE: z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or -, at most 32').default('tc'),
    // Queues each channel's sends are split into: on a cluster, one channel's sends spread over several primaries.
    SEND_PARTITIONS: z.coerce.number().int().min(1).max(SEND_PARTITIONS_MAX).default(1),

    HOST: z.string().default('0.0.0.0'),
    PORT: port(9000),
    PUBLIC_URL: url('http://localhost:9000'),

    VONAGE_API_URL: url('https://api.nexmo.com'),
    VONAGE_APPLICATION_ID: optionalString,
    VONAGE_PRIVATE_KEY: pem,
    VONAGE_API_KEY: optionalString,
    VONAGE_API_SECRET: optionalString,
    // Vonage's secret is chosen in the dashboard; a short one can be guessed offline from one signed webhook.
    VONAGE_SIGNATURE_SECRET: optionalString.pipe(z.string().min(16, 'at least 16 characters').optional()),
    // Docker's *_FILE habit: the secret read from a file (compose generates one); VONAGE_SIGNATURE_SECRET wins when both are set.
    VONAGE_SIGNATURE_SECRET_FILE: optionalString,
    // Only this lets a production ingress run without verifying webhooks: anyone could then subscribe any number.
    ALLOW_UNSIGNED_WEBHOOKS: onOff('off'),
    VONAGE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    // How the account signs SMS API webhooks (the dashboard's signature method); Messages API webhooks are always HS256.
    VONAGE_SIGNATURE_METHOD: z.enum(['md5hash', 'md5', 'sha1', 'sha256', 'sha512']).default('md5hash'),

    SMS_FROM: z.string().default('447700900000'),
    WHATSAPP_FROM: z.string().default('447700900001'),
    MESSENGER_FROM: z.string().default('107083064136738'),
    VIBER_FROM: z.string().default('16273'),

    TICKER_SYMBOLS: symbols,
    TICK_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
    // Recent ticks kept per symbol in Redis (the dashboard's charts, the admin API): an hour at the default tick.
    PRICE_HISTORY_POINTS: z.coerce.number().int().min(2).max(100_000).default(720),

    DISPATCHER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
    // Sends per second per channel, across every dispatcher. Vonage's account default is 30/s per
    // API key over all channels; WhatsApp numbers hosted by Vonage take about 20/s.
    SMS_RATE_PER_SEC: rate(30),
    WHATSAPP_RATE_PER_SEC: rate(20),
    MESSENGER_RATE_PER_SEC: rate(30),
    VIBER_RATE_PER_SEC: rate(30),
    // Replies go ahead of the feed: while they wait (past a one-second burst) they take this share of a
    // channel's sends, and the feed keeps the rest as a floor; once they are drained the feed has them all.
    REPLY_RATE_SHARE: z.coerce.number().gt(0).max(1).default(0.95),
    WHATSAPP_TEMPLATE_NAME: z.string().min(1).default('tickercast_price_update'),
    // The approved template a web signup's confirmation goes as (it asks for a YES; the price template carries prices).
    WHATSAPP_OPTIN_TEMPLATE_NAME: z.string().min(1).default('tickercast_optin'),
    WHATSAPP_TEMPLATE_LOCALE: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a WhatsApp locale such as en_US').default('en_US'),
    MESSENGER_TAG: optionalString,
    VIBER_TTL_S: z.coerce.number().int().min(MESSAGES_API_CHANNELS.viber_service.ttlS.min).max(MESSAGES_API_CHANNELS.viber_service.ttlS.max).default(600),
    // The longest a price update may wait at the provider (SMS and Viber `ttl`): past it a price is
    // stale, and the next update carries a fresher one. Each message's ttl is the subscriber's EVERY
    // interval, or PRICE_TTL_TICKS ticks, at most this, and within what the channel takes.
    PRICE_TTL_S: z.coerce.number().int().min(MESSAGES_API_CHANNELS.viber_service.ttlS.min).max(24 * 60 * 60).default(600),

    // The admin API, Bull Board (and /metrics) answer only to this token; unset, the admin surfaces are off (404).
    ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'at least 16 characters').optional()),
    // Which proxies' X-Forwarded-For to believe for the client address (rate limits): true, false, a hop count, or addresses/CIDRs.
    TRUST_PROXY: z
      .string()
      .trim()
      .default('false')
      .transform((v): boolean | number | string[] => {
        if (v === 'true' || v === 'false') return v === 'true';
        if (/^\d+$/.test(v)) return Number(v);
        return v.split(/[\s,]+/).filter(Boolean);
      }),
    // Web signups per client address per hour; confirmation messages to one number per day; how long a signup awaits its YES.
    SIGNUP_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(5),
    SIGNUP_NUMBER_RATE_LIMIT: z.coerce.number().int().min(1).max(100).default(3),
    SIGNUP_PENDING_TTL_S: z.coerce.number().int().min(60).max(24 * 60 * 60).default(60 * 60),
    // Every signup costs a message we pay for: caps over all clients together, so rotating
    // addresses cannot buy an unbounded number of confirmations (SMS pumping).
    SIGNUP_BUDGET_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
    SIGNUP_COUNTRY_BUDGET_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
    // Confirmations take at most this share of a channel's send rate, so a flood of signups cannot crowd out replies and the feed.
    SIGNUP_RATE_SHARE: z.coerce.number().gt(0).max(1).default(0.1),

    // The dashboard's live streams: each holds a connection and a frame a second; capped so that idle or hostile clients cannot pile them up.
    DASHBOARD_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(200),
    DASHBOARD_MAX_STREAMS_PER_CLIENT: z.coerce.number().int().min(1).max(1000).default(5),

    // Its own bind address: the simulator signs webhooks with the real secret for whoever drives its
    // phones, so it stays on this machine unless a token guards /_sim (compose sets 0.0.0.0 and one).
    SIMULATOR_HOST: z.string().trim().min(1).default('127.0.0.1'),
    SIMULATOR_PORT: port(9100),
    // What /_sim answers to from anywhere but loopback (Authorization: Bearer); SIMULATOR_TOKEN wins over the file.
    SIMULATOR_TOKEN: optionalString.pipe(z.string().min(16, 'at least 16 characters').optional()),
    SIMULATOR_TOKEN_FILE: optionalString,
    // Extra origins a message's webhook_url may name, beyond SIMULATOR_WEBHOOK_URL's own.
    SIMULATOR_WEBHOOK_ALLOW: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const origins: string[] = [];
        for (const item of v.split(/[\s,]+/).filter(Boolean)) {
          const parsed = URL.canParse(item) ? new URL(item) : undefined;
          if (!parsed || !/^https?:$/.test(parsed.protocol)) {
            ctx.addIssue({ code: 'custom', message: `"${item}" is not an http(s) origin such as https://hooks.example.com` });
            return z.NEVER;
          }
          origins.push(parsed.origin);
        }
        return origins;
      }),
    SIMULATOR_WEBHOOK_URL: url('http://127.0.0.1:9000'),
    SIMULATOR_RATE_LIMITS: simulatorRateLimits,
    SIMULATOR_STATUS_WEBHOOKS: onOff('on'),
    SIMULATOR_STATUS_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(50),
    // How long the simulated network takes to reach a phone: a message whose ttl is shorter expires (1360) instead of arriving.
    SIMULATOR_DELIVERY_DELAY_MS: z.coerce.number().int().min(0).max(7 * 24 * 60 * 60 * 1000).default(0),
    SIMULATOR_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
    SIMULATOR_FAIL_STATUS: z.enum(['rejected', 'undeliverable']).default('rejected'),
    SIMULATOR_FAIL_CODE: z.coerce.number().int().min(1000).max(9999).default(1230),
    SIMULATOR_FAIL_NUMBERS: simulatorFailNumbers,
    SIMULATOR_SEED: optionalString.pipe(z.string().regex(/^-?\d{1,10}$/, 'an integer').transform(Number).optional()),
    SIMULATOR_WEBHOOK_RETRIES: z.coerce.number().int().min(0).max(30).default(5),
    SIMULATOR_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(900_000).default(500),
    SIMULATOR_WHATSAPP_WINDOW: onOff('on'),
    SIMULATOR_SMS_INBOUND_FORMAT: z.enum(['messages', 'sms-api']).default('messages'),
    SIMULATOR_SMS_INBOUND_METHOD: z.enum(['GET', 'POST', 'POST-JSON']).default('POST'),
    SIMULATOR_FAULTS: simulatorFaults,
  });

/** The name of every variable the configuration reads. */
export const ENV_VARIABLES: readonly string[] = Object.keys(variables.shape);

/** The whole environment: blank variables dropped (withoutBlanks), then every variable checked at once. */
export const envSchema = z.preprocess(
  withoutBlanks,
  variables
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
      // (REDIS_URL may be a bad value here, reported on its own.)
      const redisUrl = typeof env.REDIS_URL === 'string' && URL.canParse(env.REDIS_URL) ? new URL(env.REDIS_URL) : undefined;
      if (Array.isArray(env.REDIS_CLUSTER_NODES) && redisUrl && !/^\/?0?$/.test(redisUrl.pathname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_URL'],
          message: 'a Redis Cluster has only database 0: drop the database number from REDIS_URL, or unset REDIS_CLUSTER_NODES',
        });
      }
      // Runs even when another variable is bad, so one error names every bad variable at once.
    }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
    .transform((env, ctx) => {
      const signatureSecret = env.VONAGE_SIGNATURE_SECRET ?? secretFromFile(env.VONAGE_SIGNATURE_SECRET_FILE, 'VONAGE_SIGNATURE_SECRET_FILE', ctx);
      const simulatorToken = env.SIMULATOR_TOKEN ?? secretFromFile(env.SIMULATOR_TOKEN_FILE, 'SIMULATOR_TOKEN_FILE', ctx);
      return { ...env, VONAGE_SIGNATURE_SECRET: signatureSecret, SIMULATOR_TOKEN: simulatorToken };
    }),
);

export type Config = z.infer<typeof envSchema>;

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`));
}

/**
 * For an app's main.ts: a bad environment stops the process with the reasons, exit code 78
 * (EX_CONFIG). `checks` are an app's own demands on the configuration (each throws a ConfigError).
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, ...checks: ((config: Config) => void)[]): Config {
  try {
    const config = loadConfig(env);
    for (const check of checks) check(config);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
}

/**
 * Whether the ingress may run without verifying webhooks. In production it may not, unless
 * ALLOW_UNSIGNED_WEBHOOKS says so: a forged inbound webhook subscribes any number (SMS pumping at
 * our cost) and a forged status unsubscribes anyone. Throws a ConfigError naming what to set.
 */
export function requireWebhookSecret(config: Config): void {
  if (config.VONAGE_SIGNATURE_SECRET || config.NODE_ENV !== 'production' || config.ALLOW_UNSIGNED_WEBHOOKS) return;
  throw new ConfigError([
    'VONAGE_SIGNATURE_SECRET: required in production (the signature secret from the Vonage dashboard, or VONAGE_SIGNATURE_SECRET_FILE); ' +
      'to run with unverified webhooks anyway, set ALLOW_UNSIGNED_WEBHOOKS=true',
  ]);
}

/** Whether an address (or `localhost`) is this machine's loopback, where only local processes reach a server. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (a === 'localhost' || a.endsWith('.localhost') || a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return isIPv4(v4) && v4.startsWith('127.');
}

/**
 * A simulator reachable from other hosts must guard /_sim with a token: whoever drives its phones
 * gets inbound webhooks signed with the real secret. Refusing to start beats printing a generated
 * token into the logs. Throws a ConfigError naming what to set.
 */
export function requireSimulatorToken(config: Config): void {
  if (config.SIMULATOR_TOKEN || isLoopback(config.SIMULATOR_HOST)) return;
  throw new ConfigError([
    `SIMULATOR_TOKEN: required when the simulator listens on ${config.SIMULATOR_HOST} (not loopback), so that /_sim answers other hosts ` +
      'only with it (at least 16 characters, or SIMULATOR_TOKEN_FILE); or set SIMULATOR_HOST=127.0.0.1',
  ]);
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
export function ratesFor(config: Config): Record<Channel, number> {
  return Object.fromEntries(CHANNELS.map((c) => [c, config[CHANNEL_RULES[c].rateVar]])) as Record<Channel, number>;
}

/** The sender id for each channel, from config. */
export function senderFor(config: Config): Record<Channel, string> {
  return Object.fromEntries(CHANNELS.map((c) => [c, config[CHANNEL_RULES[c].senderVar]])) as Record<Channel, string>;
}
