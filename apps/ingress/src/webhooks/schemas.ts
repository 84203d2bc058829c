import { z } from 'zod';
import { channelSchema, INBOUND_TEXT_MAX, inboundMessageSchema, statusUpdateSchema, type InboundMessage, type StatusUpdate } from '@tickercast/shared';

/*
 * What Vonage posts (the Messages API's inbound and status webhooks,
 * https://developer.vonage.com/en/api/messages, and the SMS API's): only the fields we use are
 * required; extras pass through untouched so a new field in Vonage's payloads never turns into a
 * 400 (and a dropped webhook). Each webhook schema ends in the job schema the dispatcher reads
 * (`*Webhook` below, or `toJob` for a part of a long SMS), so what a worker would refuse is a 400
 * here, never a 200 followed by a job that fails.
 */

/** ISO 8601 with a zone (`Z` or an offset), a real date, a four-digit year: what Vonage sends and the job schema takes. */
const isoTimestamp = z.iso.datetime({ offset: true });

const servedChannel = z.string().pipe(channelSchema);

export const messagesInboundSchema = z.looseObject({
  channel: servedChannel,
  message_uuid: z.string().min(1).max(100),
  to: z.string().min(1).max(64),
  from: z.string().min(1).max(64),
  timestamp: isoTimestamp,
  message_type: z.string().min(1),
  text: z.string().max(INBOUND_TEXT_MAX).optional(),
  image: z.looseObject({ caption: z.string().optional() }).optional(),
  /** WhatsApp: a tapped interactive reply (`message_type: reply`) or template quick-reply button (`message_type: button`). */
  reply: z.looseObject({ title: z.string().max(1000).optional() }).optional(),
  button: z.looseObject({ text: z.string().max(1000).optional() }).optional(),
});

export const messagesStatusSchema = z.looseObject({
  channel: servedChannel,
  message_uuid: z.string().min(1).max(100),
  to: z.string().min(1).max(64),
  from: z.string().max(64).optional(),
  timestamp: z.string().min(1),
  status: z.enum(['submitted', 'delivered', 'read', 'rejected', 'undeliverable']),
  client_ref: z.string().max(100).optional(),
  error: z.looseObject({ type: z.string().optional(), title: z.union([z.string(), z.number()]).optional(), detail: z.string().optional() }).optional(),
  // Strings in the spec (components/schemas/messageStatusBase.workflow).
  workflow: z
    .looseObject({ workflow_id: z.string().min(1).max(200), items_number: z.coerce.number().int().min(1), items_total: z.coerce.number().int().min(1) })
    .optional(),
});

/** The SMS API's `YYYY-MM-DD HH:MM:SS` (UTC), as ISO 8601: the 30th of February is refused, not rolled over. */
const smsTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'expected YYYY-MM-DD HH:MM:SS')
  .transform((t) => `${t.replace(' ', 'T')}Z`)
  .pipe(z.iso.datetime({ error: 'not a real date and time' }));

/** SMS API inbound (account-level webhook): every value arrives as a string, from a query, a form or JSON. */
export const smsInboundSchema = z.looseObject({
  msisdn: z.string().regex(/^\d{5,15}$/, 'digits only'),
  to: z.string().min(1).max(64),
  messageId: z.string().min(1).max(100),
  text: z.string().max(INBOUND_TEXT_MAX).default(''),
  type: z.enum(['text', 'unicode', 'binary']).optional(),
  keyword: z.string().optional(),
  'message-timestamp': smsTimestamp.optional(),
  concat: z.enum(['true', 'false']).optional(),
  'concat-ref': z.string().max(32).optional(),
  'concat-total': z.coerce.number().int().min(1).max(255).optional(),
  'concat-part': z.coerce.number().int().min(1).max(255).optional(),
});

const DLR_STATUS = {
  delivered: 'delivered',
  expired: 'expired',
  failed: 'failed',
  rejected: 'rejected',
  accepted: 'submitted',
  buffered: 'buffered',
  unknown: 'unknown',
} as const;

export const smsReceiptSchema = z.looseObject({
  msisdn: z.string().min(1).max(64),
  to: z.string().max(64).optional(),
  messageId: z.string().min(1).max(100),
  status: z.enum(Object.keys(DLR_STATUS) as [keyof typeof DLR_STATUS, ...(keyof typeof DLR_STATUS)[]]),
  'err-code': z.string().optional(),
  'client-ref': z.string().max(100).optional(),
  'message-timestamp': smsTimestamp.optional(),
  scts: z.string().optional(),
});

export const messagesInboundWebhook = messagesInboundSchema.transform((b) => fromMessagesInbound(b)).pipe(inboundMessageSchema);
export const messagesStatusWebhook = messagesStatusSchema.transform((b) => fromMessagesStatus(b)).pipe(statusUpdateSchema);
export const smsReceiptWebhook = smsReceiptSchema.transform((b) => fromSmsReceipt(b)).pipe(statusUpdateSchema);

function fromMessagesInbound(b: z.infer<typeof messagesInboundSchema>): InboundMessage {
  return {
    channel: b.channel,
    from: b.from,
    to: b.to,
    // A tapped button says what its label says: a "YES" button is a YES.
    text: b.text ?? b.image?.caption ?? b.reply?.title ?? b.button?.text ?? '',
    messageId: b.message_uuid,
    receivedAt: notAfterNow(isoOrNow(b.timestamp)),
  };
}

function fromMessagesStatus(b: z.infer<typeof messagesStatusSchema>): StatusUpdate {
  const code = b.error?.type?.match(/(\d+)$/)?.[1];
  return {
    channel: b.channel,
    messageId: b.message_uuid,
    status: b.status,
    to: b.to,
    timestamp: isoOrNow(b.timestamp),
    ...(b.client_ref !== undefined && { clientRef: b.client_ref }),
    ...(b.workflow && { workflow: { id: b.workflow.workflow_id, item: b.workflow.items_number, total: b.workflow.items_total } }),
    ...(b.error && {
      error: { ...(code !== undefined && { code }), reason: [b.error.title, b.error.detail].filter(Boolean).join(': ') || 'unknown error' },
    }),
  };
}

/** An SMS API inbound (or a long one's joined parts, with their text and joined id) as the job. */
export function fromSmsInbound(b: z.infer<typeof smsInboundSchema>, joined?: { text: string; messageId: string }): InboundMessage {
  return {
    channel: 'sms',
    from: b.msisdn,
    to: b.to,
    text: joined?.text ?? b.text,
    messageId: joined?.messageId ?? b.messageId,
    receivedAt: notAfterNow(smsTimeToIso(b['message-timestamp'])),
  };
}

function fromSmsReceipt(b: z.infer<typeof smsReceiptSchema>): StatusUpdate {
  const errCode = b['err-code'];
  return {
    channel: 'sms',
    messageId: b.messageId,
    status: DLR_STATUS[b.status],
    to: b.msisdn,
    timestamp: smsTimeToIso(b['message-timestamp']),
    ...(b['client-ref'] !== undefined && { clientRef: b['client-ref'] }),
    ...(errCode !== undefined && errCode !== '0' && { error: { code: errCode, reason: `carrier error ${errCode}` } }),
  };
}

function smsTimeToIso(t: string | undefined): string {
  return t ? new Date(t).toISOString() : new Date().toISOString();
}

/**
 * A message cannot have been sent after we received it: a timestamp ahead of our clock (skew, or
 * forged) is taken as the time of receipt, so it cannot hold a 24-hour window open past its end.
 */
function notAfterNow(iso: string): string {
  const now = Date.now();
  return Date.parse(iso) > now ? new Date(now).toISOString() : iso;
}

function isoOrNow(t: string): string {
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? new Date().toISOString() : new Date(ms).toISOString();
}
