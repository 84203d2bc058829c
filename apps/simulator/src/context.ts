import type { FastifyBaseLogger } from 'fastify';
import { signMessagesWebhook, type SmsSignatureMethod } from '@tickercast/messages-client';
import type { Channel } from '@tickercast/shared';
import { VerifiedTokenCache, type SimulatorCredentials } from './auth.ts';
import { Faults, type FaultsInput } from './faults.ts';
import { randomStream, type Random } from './random.ts';
import { RollingWindowLimiter, type LaneStats, type LimitKey, type RateLimits } from './rate-limit.ts';
import type { SmsApiMethod } from './sms-api-inbound.ts';
import { DEFAULT_STATUS_SETTINGS, MESSAGE_STATUSES, type MessageStatus, type StatusSettings } from './status-webhooks.ts';
import { SimulatorStore } from './store.ts';
import { DEFAULT_DELIVERY, WebhookSender, type DeliveryPolicy, type WebhookCounters, type WebhookKind } from './webhook-delivery.ts';
import { WhatsAppWindows } from './whatsapp-window.ts';

export interface SmsInboundSettings {
  /** How a phone's SMS reaches the application: a Messages API inbound webhook, or the SMS API's inbound-sms. */
  format: 'messages' | 'sms-api';
  method: SmsApiMethod;
}

export interface SimulatorOptions {
  credentials: SimulatorCredentials;
  /** Where the application's webhooks live: `${webhookBaseUrl}/webhooks/inbound` etc. */
  webhookBaseUrl: string;
  /** Origins beyond webhookBaseUrl's that a message's webhook_url may name; any other is refused (422). */
  webhookAllow?: readonly string[] | undefined;
  /** What /_sim answers to from other hosts (Bearer); without it, /_sim answers loopback only. */
  controlToken?: string | undefined;
  /** Sign webhooks as Vonage does (HS256 JWT with payload_hash; SMS API `sig`) when the account has a signature secret. */
  signatureSecret?: string | undefined;
  /** The account's SMS API signature method (default md5hash). */
  signatureMethod?: SmsSignatureMethod | undefined;
  /** The business's sender id per channel: where a phone's messages go (phones exist on tickercast's channels). */
  businessNumbers: Record<Channel, string>;
  logger?: FastifyBaseLogger;
  /** Requests per rolling second, per channel and for `all` together; 0 or absent: unlimited. */
  rateLimits?: RateLimits | undefined;
  statusWebhooks?: Partial<StatusSettings> | undefined;
  webhookDelivery?: Partial<DeliveryPolicy> | undefined;
  /** Enforce WhatsApp's 24-hour customer-care window (default true). */
  whatsappWindow?: boolean | undefined;
  smsInbound?: Partial<SmsInboundSettings> | undefined;
  /** Faults in force from the start. */
  faults?: FaultsInput | undefined;
  /** The simulated world's clock, in ms (default Date.now): rate windows, the WhatsApp window, timestamps. */
  now?: (() => number) | undefined;
  /** Makes failure outcomes and random faults repeatable. */
  seed?: number | undefined;
}

export interface RuntimeSettings {
  statusWebhooks: StatusSettings;
  webhookDelivery: DeliveryPolicy;
  whatsappWindow: boolean;
  smsInbound: SmsInboundSettings;
}

export interface SimStats {
  since: string;
  channels: Record<LimitKey, LaneStats>;
  statuses: Record<MessageStatus, number>;
  webhooks: Record<WebhookKind, WebhookCounters>;
  faults: ReturnType<Faults['counters']>;
}

/** Everything one simulator holds, shared by its routes. */
export interface SimContext {
  options: SimulatorOptions;
  now: () => number;
  store: SimulatorStore;
  limiter: RollingWindowLimiter;
  windows: WhatsAppWindows;
  faults: Faults;
  sender: WebhookSender;
  settings: RuntimeSettings;
  statusCounts: Record<MessageStatus, number>;
  statusRandom: Random;
  tokens: VerifiedTokenCache;
  /** The Authorization header for a Messages API webhook body, when a signature secret is set. */
  sign: ((rawBody: string) => Promise<string>) | undefined;
  /** Each phone's next concatenation reference for a long SMS. */
  concatRefs: Map<string, number>;
  stats(): SimStats;
  /** Forgets messages, conversations, windows, counters and rate windows, and drops scheduled webhooks. */
  reset(): void;
}

const zeroStatuses = () => Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;

export function createContext(options: SimulatorOptions): SimContext {
  const now = options.now ?? Date.now;
  const settings: RuntimeSettings = {
    statusWebhooks: { ...DEFAULT_STATUS_SETTINGS, ...options.statusWebhooks },
    webhookDelivery: { ...DEFAULT_DELIVERY, ...options.webhookDelivery },
    whatsappWindow: options.whatsappWindow ?? true,
    smsInbound: { format: 'messages', method: 'POST', ...options.smsInbound },
  };
  const faults = new Faults(now, randomStream(options.seed, 1));
  if (options.faults) faults.set(options.faults);
  const secret = options.signatureSecret;
  let since = now();
  const ctx: SimContext = {
    options,
    now,
    store: new SimulatorStore(),
    limiter: new RollingWindowLimiter(options.rateLimits ?? {}),
    windows: new WhatsAppWindows(),
    faults,
    sender: new WebhookSender(() => settings.webhookDelivery),
    settings,
    statusCounts: zeroStatuses(),
    statusRandom: randomStream(options.seed, 0),
    tokens: new VerifiedTokenCache(),
    sign: secret
      ? (rawBody) =>
          signMessagesWebhook({
            rawBody,
            secret,
            applicationId: options.credentials.application?.id,
            apiKey: options.credentials.basic?.apiKey,
          })
      : undefined,
    concatRefs: new Map(),
    stats: () => ({
      since: new Date(since).toISOString(),
      channels: ctx.limiter.stats(),
      statuses: { ...ctx.statusCounts },
      webhooks: ctx.sender.counters(),
      faults: ctx.faults.counters(),
    }),
    reset() {
      ctx.store.reset();
      ctx.limiter.reset();
      ctx.windows.reset();
      ctx.sender.reset();
      ctx.faults.resetCounters();
      ctx.concatRefs.clear();
      Object.assign(ctx.statusCounts, zeroStatuses());
      since = now();
    },
  };
  return ctx;
}

