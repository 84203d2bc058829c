import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { RedisClient } from '@tickercast/shared';
import type { SmsSignatureMethod } from '@tickercast/messages-client';
import {
  loadConfig,
  ratesFor,
  RedisUnavailableError,
  ReplyPacer,
  senderFor,
  SIGNUP_CHANNELS,
  type Channel,
  type Config,
  type Queues,
  type RedisKeys,
  type SignupChannel,
  withinDeadline,
} from '@tickercast/shared';
import { EventStreams } from './dashboard/event-streams.ts';
import { dashboard } from './dashboard/plugin.ts';
import { snapshotSources } from './dashboard/snapshot.ts';
import { adminApi } from './admin/api.ts';
import { adminLogin } from './admin/auth.ts';
import { bullBoard } from './admin/bull-board.ts';
import { healthRoutes } from './health.ts';
import { closeIdleConnections } from './idle-connections.ts';
import { metrics } from './metrics.ts';
import { webhookSignatures } from './signatures.ts';
import { signupRoutes } from './signup/plugin.ts';
import { messagesApiWebhooks } from './webhooks/messages-api.ts';
import { smsApiWebhooks } from './webhooks/sms-api.ts';

/** What the configuration decides about the ingress; every field has the config's default. */
export interface IngressSettings {
  /** VONAGE_SIGNATURE_SECRET: verify every webhook; unset, none is verified. */
  signatureSecret: string | undefined;
  /** VONAGE_SIGNATURE_METHOD: how SMS API webhooks are signed. */
  signatureMethod: SmsSignatureMethod;
  /** ADMIN_TOKEN: the admin API, Bull Board and /metrics answer to it; unset, the admin surfaces are 404. */
  adminToken: string | undefined;
  /** TICKER_SYMBOLS: what the signup page and the admin API offer. */
  symbols: readonly string[];
  /** The channels with a sender number: where the signup page can reach a person. */
  signupChannels: readonly SignupChannel[];
  signupRateLimit: number;
  signupNumberRateLimit: number;
  signupPendingTtlS: number;
  /** SIGNUP_BUDGET_PER_MINUTE, SIGNUP_COUNTRY_BUDGET_PER_MINUTE: signups over every client, and per destination calling code. */
  signupBudgetPerMinute: number;
  signupCountryBudgetPerMinute: number;
  /** SIGNUP_RATE_SHARE: the share of each channel's rate that signup confirmations may take. */
  signupRateShare: number;
  /** PUBLIC_URL: the signup form's own origin. */
  publicUrl: string;
  /** DASHBOARD_MAX_STREAMS, DASHBOARD_MAX_STREAMS_PER_CLIENT: open dashboard streams in all and per client. */
  dashboardMaxStreams: number;
  dashboardMaxStreamsPerClient: number;
  /** TRUST_PROXY: whose X-Forwarded-For gives the client address. */
  trustProxy: boolean | number | string[];
  /** *_RATE_PER_SEC: each channel's send rate, of which signup confirmations take their share. */
  rates: Record<Channel, number>;
}

export function ingressSettings(config: Config): IngressSettings {
  const senders = senderFor(config);
  return {
    signatureSecret: config.VONAGE_SIGNATURE_SECRET,
    signatureMethod: config.VONAGE_SIGNATURE_METHOD,
    adminToken: config.ADMIN_TOKEN,
    symbols: config.TICKER_SYMBOLS,
    signupChannels: SIGNUP_CHANNELS.filter((c) => senders[c] !== ''),
    signupRateLimit: config.SIGNUP_RATE_LIMIT,
    signupNumberRateLimit: config.SIGNUP_NUMBER_RATE_LIMIT,
    signupPendingTtlS: config.SIGNUP_PENDING_TTL_S,
    signupBudgetPerMinute: config.SIGNUP_BUDGET_PER_MINUTE,
    signupCountryBudgetPerMinute: config.SIGNUP_COUNTRY_BUDGET_PER_MINUTE,
    signupRateShare: config.SIGNUP_RATE_SHARE,
    publicUrl: config.PUBLIC_URL,
    dashboardMaxStreams: config.DASHBOARD_MAX_STREAMS,
    dashboardMaxStreamsPerClient: config.DASHBOARD_MAX_STREAMS_PER_CLIENT,
    trustProxy: config.TRUST_PROXY,
    rates: ratesFor(config),
  };
}

export interface IngressDeps extends Partial<IngressSettings> {
  queues: Queues;
  redis: RedisClient;
  keys: RedisKeys;
  logger?: FastifyBaseLogger;
}

const WEBHOOK_BODY_LIMIT = 64 * 1024;

/**
 * How long a webhook's Redis work may take before it is answered 503: far beyond a healthy Redis
 * (milliseconds, even under a webhook storm), well within the few seconds the provider waits for
 * an answer before it counts the webhook as failed and retries it anyway.
 */
export const WEBHOOK_REDIS_DEADLINE_MS = 2000;

export function buildIngress(deps: IngressDeps): FastifyInstance {
  // Settings not given are the configuration's defaults (an empty environment).
  const settings: IngressSettings = { ...ingressSettings(loadConfig({})), ...stripUndefined(deps) };
  const { queues, redis, keys } = deps;
  // A hop count trusts that many proxies in front of us (Fastify's types take it as a function).
  const hops = settings.trustProxy;
  const trustProxy = typeof hops === 'number' ? (_addr: string, i: number) => i < hops : hops;
  const common = { bodyLimit: WEBHOOK_BODY_LIMIT, logController: new LogController({ disableRequestLogging: true }), trustProxy };
  const app: FastifyInstance = deps.logger
    ? Fastify({ ...common, loggerInstance: deps.logger })
    : Fastify({ ...common, logger: false });

  // Client mistakes (bad JSON, too large, wrong content type) keep their 4xx and say why;
  // anything else is our fault: logged, and a 5xx so that Vonage retries the webhook later —
  // 503 when Redis is away (nothing was taken: the retry will be), 500 for the rest.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof RedisUnavailableError) {
      req.log.warn({ url: req.url.split('?')[0], reason: err.message }, 'redis unavailable: answered 503');
      return reply.code(503).header('retry-after', '1').send({ error: 'temporarily unavailable', reason: 'redis unavailable', code: err.code });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.message, code: err.code });
    // The path only: an SMS API query string holds the sender's number and text.
    req.log.error({ err, url: req.url.split('?')[0] }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.register(formbody, { bodyLimit: WEBHOOK_BODY_LIMIT });
  app.register(cookie);
  app.register(closeIdleConnections);
  if (settings.adminToken) app.register(adminLogin, { token: settings.adminToken });
  // Before the routes: the signature check and the metrics hooks apply to every route registered after them.
  const deadline = <T>(work: () => Promise<T>) => withinDeadline(redis, WEBHOOK_REDIS_DEADLINE_MS, work);
  app.register(webhookSignatures, { redis, keys, secret: settings.signatureSecret, smsMethod: settings.signatureMethod, bodyLimit: WEBHOOK_BODY_LIMIT, deadline });
  const streams = new EventStreams({ maxStreams: settings.dashboardMaxStreams, maxPerClient: settings.dashboardMaxStreamsPerClient });
  app.register(metrics, { queues, redis, keys, token: settings.adminToken, publicUrl: settings.publicUrl, dashboardStreams: streams });
  app.register(healthRoutes, { redis });
  app.register(messagesApiWebhooks, { queues, deadline });
  app.register(smsApiWebhooks, { queues, redis, keys, deadline });
  app.register(signupRoutes, {
    redis,
    keys,
    confirmations: new ReplyPacer(queues, redis, keys, { rates: settings.rates, share: settings.signupRateShare, schedule: 'signups' }),
    symbols: settings.symbols,
    channels: settings.signupChannels,
    perAddressPerHour: settings.signupRateLimit,
    perNumberPerDay: settings.signupNumberRateLimit,
    pendingTtlS: settings.signupPendingTtlS,
    budgetPerMinute: settings.signupBudgetPerMinute,
    countryBudgetPerMinute: settings.signupCountryBudgetPerMinute,
    publicUrl: settings.publicUrl,
  });
  app.register(dashboard, {
    ...snapshotSources(redis, keys, queues, settings.symbols, settings.rates),
    streams,
    token: settings.adminToken,
    publicUrl: settings.publicUrl,
  });
  // Without a token the admin surfaces do not exist: 404, like any unknown route.
  if (settings.adminToken) {
    app.register(adminApi, { prefix: '/admin/api', token: settings.adminToken, redis, keys, queues, symbols: settings.symbols, publicUrl: settings.publicUrl });
    app.register(bullBoard, { token: settings.adminToken, queues, publicUrl: settings.publicUrl });
  }
  return app;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
