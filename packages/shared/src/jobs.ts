import { z } from 'zod';
import { channelSchema } from './channels.ts';

/** A message from a person, whatever webhook brought it: the one shape the dispatcher reads. */
export const inboundMessageSchema = z.object({
  channel: channelSchema,
  from: z.string().min(1),
  to: z.string().min(1),
  text: z.string(),
  /** The provider's id: the job id, so a redelivered webhook is one job. */
  messageId: z.string().min(1),
  receivedAt: z.iso.datetime({ offset: true }),
});
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

export const DELIVERY_STATES = ['submitted', 'delivered', 'read', 'rejected', 'undeliverable', 'failed', 'expired', 'buffered', 'unknown'] as const;
export const deliveryStateSchema = z.enum(DELIVERY_STATES);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

/** A delivery report for a message we sent, from a Messages API status or an SMS receipt. */
export const statusUpdateSchema = z.object({
  channel: channelSchema,
  messageId: z.string().min(1),
  status: deliveryStateSchema,
  to: z.string().optional(),
  timestamp: z.string(),
  clientRef: z.string().optional(),
  error: z.object({ code: z.string().optional(), reason: z.string() }).optional(),
});
export type StatusUpdate = z.infer<typeof statusUpdateSchema>;

/** One tick of one symbol: fan out its price to the symbol's subscribers. */
export const fanoutJobSchema = z.object({
  symbol: z.string(),
  version: z.number().int(),
  tickedAt: z.number().int(),
});
export type FanoutJob = z.infer<typeof fanoutJobSchema>;

/**
 * One message to one subscriber. A price send carries no price: it reads the latest one when it
 * runs, which is what lets a queue of them conflate.
 */
export const sendJobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('price'), subscriberId: z.string(), symbol: z.string(), tickedAt: z.number().int().optional() }),
  z.object({ kind: z.literal('reply'), subscriberId: z.string(), text: z.string().min(1).max(1000) }),
]);
export type SendJob = z.infer<typeof sendJobSchema>;

/*
 * BullMQ job ids may not be integers or contain ':', and a provider's ids can be either
 * (SMS API message ids are hex, sometimes all digits). Prefixing and replacing keeps them legal
 * and one-to-one.
 */
const safeId = (s: string) => s.replace(/:/g, '_');

/** One inbound job per provider message, however often the webhook is delivered. */
export function inboundJobId(m: Pick<InboundMessage, 'messageId'>): string {
  return `in-${safeId(m.messageId)}`;
}

/** One status job per (message, status): `delivered` after `submitted` is a new fact, a repeat is not. */
export function statusJobId(s: Pick<StatusUpdate, 'messageId' | 'status'>): string {
  return `st-${safeId(s.messageId)}-${s.status}`;
}

/** One fan-out per symbol tick, so a tick re-added after a crash adds nothing twice. */
export function fanoutJobId(f: Pick<FanoutJob, 'symbol' | 'version'>): string {
  return `fo-${f.symbol}-${f.version}`;
}
