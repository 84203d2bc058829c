import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Channel } from './channels.ts';
import { CHANNELS } from './channels.ts';
import type { FanoutJob, InboundMessage, SendJob, StatusUpdate } from './jobs.ts';
import type { RedisKeys } from './keys.ts';

export const QUEUE = {
  inbound: 'inbound',
  status: 'status',
  fanout: 'fanout',
} as const;

/** One send queue per channel, so a slow channel never holds up another. */
export function sendQueueName(channel: Channel): `send-${Channel}` {
  return `send-${channel}`;
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
  send: {
    attempts: 6,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { age: 7 * DAY_S, count: 10_000 },
  },
} satisfies Record<string, DefaultJobOptions>;

export interface Queues {
  inbound: Queue<InboundMessage>;
  status: Queue<StatusUpdate>;
  fanout: Queue<FanoutJob>;
  send: Record<Channel, Queue<SendJob>>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * Producers for every queue, on a connection the caller owns (and closes after `close()`).
 */
export function createQueues(connection: Redis, keys: RedisKeys): Queues {
  const opts = (defaultJobOptions: DefaultJobOptions) => ({ connection, prefix: keys.queuePrefix, defaultJobOptions });
  const inbound = new Queue<InboundMessage>(QUEUE.inbound, opts(JOB_DEFAULTS.inbound));
  const status = new Queue<StatusUpdate>(QUEUE.status, opts(JOB_DEFAULTS.status));
  const fanout = new Queue<FanoutJob>(QUEUE.fanout, opts(JOB_DEFAULTS.fanout));
  const send = Object.fromEntries(
    CHANNELS.map((c) => [c, new Queue<SendJob>(sendQueueName(c), opts(JOB_DEFAULTS.send))]),
  ) as Record<Channel, Queue<SendJob>>;
  const all = (): Queue[] => [inbound, status, fanout, ...Object.values(send)] as Queue[];
  return {
    inbound,
    status,
    fanout,
    send,
    all,
    close: async () => {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
