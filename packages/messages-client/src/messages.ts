import { z } from 'zod';
import { MESSAGES_API_CHANNELS as API } from './channels.ts';

const ttl = (range: { min: number; max: number }) => z.number().int().min(range.min).max(range.max);

const common = {
  to: z.string().min(1),
  from: z.string().min(1),
  /** Echoed in every status webhook: how a retried send is traced back to one job. */
  clientRef: z.string().max(100).optional(),
  /** Per-message status URL, overriding the application's. */
  webhookUrl: z.url().optional(),
};

const text = z.string().min(1);

export const smsMessageSchema = z.object({
  channel: z.literal('sms'),
  ...common,
  text: text.max(API.sms.textMax),
  /** Seconds the carrier keeps trying. */
  ttl: ttl(API.sms.ttlS).optional(),
  encoding: z.enum(['text', 'unicode', 'auto']).optional(),
});

export const whatsappTextSchema = z.object({
  channel: z.literal('whatsapp'),
  ...common,
  text: text.max(API.whatsapp.textMax),
});

export const whatsappTemplateSchema = z.object({
  channel: z.literal('whatsapp'),
  ...common,
  template: z.object({
    name: z.string().min(1),
    parameters: z.array(z.string()).default([]),
    locale: z.string().default('en_US'),
  }),
});

export const messengerMessageSchema = z.object({
  channel: z.literal('messenger'),
  ...common,
  text: text.max(API.messenger.textMax),
  category: z.enum(['response', 'update', 'message_tag']).optional(),
  tag: z.string().optional(),
});

export const viberMessageSchema = z.object({
  channel: z.literal('viber_service'),
  ...common,
  text: text.max(API.viber_service.textMax),
  category: z.enum(['transaction', 'promotion']).optional(),
  /** Seconds Viber keeps trying. */
  ttl: ttl(API.viber_service.ttlS).optional(),
});

export const mmsImageSchema = z.object({
  channel: z.literal('mms'),
  ...common,
  image: z.object({
    url: z.url({ protocol: /^https?$/ }),
    caption: z.string().min(1).max(3000).optional(),
  }),
  ttl: ttl(API.mms.ttlS).optional(),
});

export const outboundMessageSchema = z.union([
  smsMessageSchema,
  mmsImageSchema,
  whatsappTemplateSchema,
  whatsappTextSchema,
  messengerMessageSchema,
  viberMessageSchema,
]);

/** One message of the API's own failover: a whole message on another channel, tried when the one before is not delivered. */
export type FailoverMessage = z.input<typeof outboundMessageSchema>;

/**
 * What send() takes: a message, and optionally the Messages API's `failover`, the messages Vonage
 * sends in turn, without another request, when the one before is rejected or undeliverable.
 */
export type OutboundMessage = z.input<typeof outboundMessageSchema> & { failover?: FailoverMessage[] | undefined };
export type SmsMessage = z.input<typeof smsMessageSchema>;
export type MmsImageMessage = z.input<typeof mmsImageSchema>;
export type WhatsAppTextMessage = z.input<typeof whatsappTextSchema>;
export type WhatsAppTemplateMessage = z.input<typeof whatsappTemplateSchema>;
export type MessengerMessage = z.input<typeof messengerMessageSchema>;
export type ViberMessage = z.input<typeof viberMessageSchema>;
export type Channel = OutboundMessage['channel'];
