/**
 * The queues between the processes: their names, the schema of each job's data, the ids of
 * webhook and fan-out jobs, and default job options. Each send job itself is built in
 * send-jobs.ts.
 */
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { RedisClient } from '../runtime/redis.ts';
import { z } from 'zod';
import type { Channel } from '../channels.ts';
import { CHANNELS, channelSchema, parseSubscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { sendPartition } from '../partitions.ts';
import type { SendJobSpec } from './send-jobs.ts';

/**
 * The longest text an inbound job carries: the ingress refuses longer webhooks (400) and cuts a
 * joined SMS to it, and the command parser reads far less of it (COMMAND_TEXT_MAX).
 */
export const INBOUND_TEXT_MAX = 10_000;

/** A message from a person, whatever webhook brought it: the one shape the dispatcher reads. */
export const inboundMessageSchema = z.object({
  channel: channelSchema,
  from: z.string().min(1),
  to: z.string().min(1),
  text: z.string().max(INBOUND_TEXT_MAX),
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
  /** A message of a failover workflow: the workflow, and this message's place in it (1: the one we asked for first). */
  workflow: z.object({ id: z.string().min(1).max(200), item: z.number().int().min(1), total: z.number().int().min(1) }).optional(),
});
export type StatusUpdate = z.infer<typeof statusUpdateSchema>;

/** The longest broadcast text an operator may send (each follower's copy is then fitted to the channel). */
export const BROADCAST_TEXT_MAX = 1000;

/**
 * One tick of one symbol: wakes the refill, which queues the feed sends of whoever is due at the
 * rate each channel can take (its job id keeps a re-added tick from waking it twice). Or, with
 * `broadcast`, an operator's message to every follower of the symbol (version 0): the root job
 * (no `subscriberIds`) pages through the followers; past its first page, it hands each page on as
 * a job of its own (`subscriberIds`), so that every dispatcher's fan-out worker shares the adds.
 */
export const fanoutJobSchema = z.object({
  symbol: z.string(),
  version: z.number().int(),
  tickedAt: z.number().int(),
  subscriberIds: z.array(z.string()).min(1).max(10_000).optional(),
  broadcast: z.object({ text: z.string().min(1).max(BROADCAST_TEXT_MAX), key: z.string().min(1).max(64) }).optional(),
});
export type FanoutJob = z.infer<typeof fanoutJobSchema>;

/**
 * One message to one subscriber. A feed send carries no price: it reads the latest ones when it
 * runs, which is what lets a queue of them conflate. `price` is the per-symbol send of earlier
 * versions, still in queues after an upgrade: it runs as the subscriber's feed send.
 */
export const sendJobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('feed'), subscriberId: z.string(), symbols: z.array(z.string()).max(1000).optional() }),
  z.object({ kind: z.literal('price'), subscriberId: z.string(), symbol: z.string(), tickedAt: z.number().int().optional() }),
  z.object({
    kind: z.literal('reply'),
    subscriberId: z.string(),
    text: z.string().min(1).max(1000),
    /**
     * A web signup's request for a YES: outside the WhatsApp window it goes as the opt-in template
     * (WHATSAPP_OPTIN_TEMPLATE_NAME), approved for asking, rather than the price template.
     */
    optIn: z.literal(true).optional(),
  }),
]);
export type SendJob = z.infer<typeof sendJobSchema>;

const JOB_ID_ESCAPES: Record<string, string> = { '%': '%25', ':': '%3A' };

/**
 * A provider id or an address as part of a BullMQ job id, which may not contain ':'. Escaped,
 * not replaced: replacing ':' with '_' made `a:b` and `a_b` one job, and the second message was
 * dropped as a duplicate. Callers prefix the result, so it is never an integer either.
 */
export function jobIdPart(s: string): string {
  return s.replace(/[%:]/g, (c) => JOB_ID_ESCAPES[c]!);
}
const safeId = jobIdPart;

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

export const QUEUE = {
  inbound: 'inbound',
  status: 'status',
  fanout: 'fanout',
} as const;

/**
 * A send queue per channel, so a slow channel never holds up another, split into SEND_PARTITIONS
 * queues so that on a cluster one channel's sends spread over several primaries. The first
 * partition keeps the channel's plain name: one partition is the layout from before partitions.
 */
export function sendQueueName(channel: Channel, partition = 0): string {
  return partition === 0 ? `send-${channel}` : `send-${channel}-${partition}`;
}

const DAY_S = 24 * 60 * 60;

/**
 * Vonage retries a webhook for up to 24 hours, so a completed inbound or status job is kept a
 * little longer: while it exists, a redelivery with the same provider id adds nothing.
 */
const webhookJobs: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: DAY_S + 3600 },
  removeOnFail: { age: 7 * DAY_S },
};

export const JOB_DEFAULTS = {
  inbound: webhookJobs,
  status: webhookJobs,
  fanout: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    // The job id is symbol+version; keeping it an hour makes a re-added tick a no-op.
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: DAY_S },
  },
  /** A page of a tick's subscribers: gone once its sends are added (it holds a thousand ids). */
  fanoutPage: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: true,
    removeOnFail: { age: DAY_S },
  },
  send: {
    attempts: 6,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { age: 7 * DAY_S, count: 10_000 },
  },
} satisfies Record<string, DefaultJobOptions>;

/**
 * BullMQ serves jobs without a priority before prioritized ones, so replies to people (added
 * without one) go ahead of feed updates on the same channel queue and under the same rate
 * limit. Feed jobs share one priority: among themselves they stay first in, first out.
 */
export const FEED_PRIORITY = 10;

export interface Queues {
  inbound: Queue<InboundMessage>;
  status: Queue<StatusUpdate>;
  fanout: Queue<FanoutJob>;
  /** How many queues each channel's sends are split into (SEND_PARTITIONS). */
  sendPartitions: number;
  /** Every send queue of each channel, by partition. */
  sendQueues: Record<Channel, Queue<SendJob>[]>;
  /**
   * Each channel's first send queue: with one partition (the default), all of its sends. Add
   * sends through `sendFor` or `addSends`, which pick the subscriber's partition.
   */
  send: Record<Channel, Queue<SendJob>>;
  /** The send queue of this subscriber's sends. */
  sendFor(subscriberId: string): Queue<SendJob>;
  /** Adds sends, each to its subscriber's queue (one addBulk per queue). */
  addSends(specs: readonly SendJobSpec[]): Promise<void>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * Producers for every queue, on a connection the caller owns (and closes after `close()`).
 * `sendPartitions`: SEND_PARTITIONS, the same in every process.
 */
export function createQueues(connection: RedisClient, keys: RedisKeys, options: { sendPartitions?: number } = {}): Queues {
  const sendPartitions = Math.max(1, options.sendPartitions ?? 1);
  const opts = (name: string, defaultJobOptions: DefaultJobOptions) => ({ connection, prefix: keys.queuePrefix(name), defaultJobOptions });
  const inbound = new Queue<InboundMessage>(QUEUE.inbound, opts(QUEUE.inbound, JOB_DEFAULTS.inbound));
  const status = new Queue<StatusUpdate>(QUEUE.status, opts(QUEUE.status, JOB_DEFAULTS.status));
  const fanout = new Queue<FanoutJob>(QUEUE.fanout, opts(QUEUE.fanout, JOB_DEFAULTS.fanout));
  const sendQueues = Object.fromEntries(
    CHANNELS.map((c) => [
      c,
      Array.from({ length: sendPartitions }, (_, p) => new Queue<SendJob>(sendQueueName(c, p), opts(sendQueueName(c, p), JOB_DEFAULTS.send))),
    ]),
  ) as Record<Channel, Queue<SendJob>[]>;
  const send = Object.fromEntries(CHANNELS.map((c) => [c, sendQueues[c][0]!])) as Record<Channel, Queue<SendJob>>;
  const sendFor = (subscriberId: string): Queue<SendJob> =>
    sendQueues[parseSubscriberId(subscriberId).channel][sendPartition(subscriberId, sendPartitions)]!;
  const all = (): Queue[] => [inbound, status, fanout, ...Object.values(sendQueues).flat()] as Queue[];
  return {
    inbound,
    status,
    fanout,
    sendPartitions,
    sendQueues,
    send,
    sendFor,
    async addSends(specs) {
      const byQueue = new Map<Queue<SendJob>, SendJobSpec[]>();
      for (const spec of specs) {
        const queue = sendFor(spec.data.subscriberId);
        let list = byQueue.get(queue);
        if (!list) byQueue.set(queue, (list = []));
        list.push(spec);
      }
      await Promise.all([...byQueue].map(([queue, list]) => queue.addBulk(list)));
    },
    all,
    close: async () => {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
