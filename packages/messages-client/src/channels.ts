/*
 * What the Messages API v1 itself lays down for each channel: facts about Vonage that any user of
 * this client needs, whatever it sends. They live here rather than in @tickercast/shared because
 * this package is the generic client and depends on nothing of the product; the product's own
 * choices per channel (how a channel is named, how long a reply may be, who may sign up on the
 * web, which config variables hold its rate and sender) are @tickercast/shared's CHANNEL_RULES,
 * which reads this table (through the `./channels` export: plain data, so a process that only needs
 * the facts does not load the HTTP client).
 *
 * The simulator keeps its own statement of what Vonage refuses (apps/simulator/src/request-schema.ts)
 * on purpose: a wrong number here must be caught by a 422 there, not copied into it.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ApiChannelFacts {
  /**
   * How a recipient is written: a phone number in E.164 without `+`, or the page-scoped id (PSID)
   * Meta gives a person on one page. See normalizeAddress in addresses.ts.
   */
  address: 'phone number' | 'page-scoped id';
  /** The longest text the provider accepts in one message; undefined where a message carries no text (mms: an image). */
  textMax: number | undefined;
  /** The `ttl` the channel takes (seconds the provider keeps trying), undefined where there is none. */
  ttlS: { min: number; max: number } | undefined;
  /**
   * Free text only within this long after the person's last message (the customer-care window);
   * outside it, WhatsApp takes only a template and Messenger only a message tag. Undefined: no window.
   */
  customerCareWindowMs: number | undefined;
  /** Whether status webhooks go on to `read` once the person opens the message. */
  readReceipts: boolean;
}

export const MESSAGES_API_CHANNELS = {
  sms: { address: 'phone number', textMax: 1000, ttlS: { min: 20, max: 604_800 }, customerCareWindowMs: undefined, readReceipts: false },
  mms: { address: 'phone number', textMax: undefined, ttlS: { min: 300, max: 259_200 }, customerCareWindowMs: undefined, readReceipts: false },
  whatsapp: { address: 'phone number', textMax: 4096, ttlS: undefined, customerCareWindowMs: DAY_MS, readReceipts: true },
  messenger: { address: 'page-scoped id', textMax: 640, ttlS: undefined, customerCareWindowMs: DAY_MS, readReceipts: true },
  viber_service: { address: 'phone number', textMax: 1000, ttlS: { min: 30, max: 259_200 }, customerCareWindowMs: undefined, readReceipts: true },
} as const satisfies Record<string, ApiChannelFacts>;

/** Every channel POST /v1/messages takes. */
export type ApiChannel = keyof typeof MESSAGES_API_CHANNELS;
export const API_CHANNELS = Object.keys(MESSAGES_API_CHANNELS) as [ApiChannel, ...ApiChannel[]];

/** The channels whose recipients are phone numbers. */
export type PhoneChannel = { [C in ApiChannel]: (typeof MESSAGES_API_CHANNELS)[C]['address'] extends 'phone number' ? C : never }[ApiChannel];
