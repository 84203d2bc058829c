import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Channel } from './channels.ts';
import type { RedisKeys } from './keys.ts';
import { takeSlot } from './gcra.ts';
import type { Queues, SendJob } from './queues.ts';

type ReplyJob = Extract<SendJob, { kind: 'reply' }>;

/** Up to this long, replies beyond the share still go at once: a second's worth. */
const BURST_MS = 1000;

/**
 * Paces replies to people (answers, confirmations) onto a channel's send queue, ahead of the feed.
 *
 * A reply carries no priority, so BullMQ serves it before every waiting feed update, under the
 * channel's one limiter. That alone would let a burst of replies hold the feed back for as long
 * as the burst lasts; so replies beyond `share` of the channel's rate (after a one-second burst)
 * are added with a delay that spreads them out (a slot on a schedule in Redis, gcra.ts). When due they still go first, and the feed keeps
 * at least the rest of the rate.
 */
export class ReplyPacer {
  readonly #queues: Queues;
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #intervalMs: Record<Channel, number>;

  constructor(queues: Queues, redis: Redis, keys: RedisKeys, opts: { rates: Record<Channel, number>; share: number }) {
    this.#queues = queues;
    this.#redis = redis;
    this.#keys = keys;
    this.#intervalMs = Object.fromEntries(
      Object.entries(opts.rates).map(([channel, rate]) => [channel, 1000 / (rate * opts.share)]),
    ) as Record<Channel, number>;
  }

  /** Adds the reply; `jobId` makes a retried caller add it once. Resolves with the job and its delay. */
  async add(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string): Promise<{ job: Job<SendJob>; delayMs: number }> {
    const delayMs = Math.floor(await takeSlot(this.#redis, this.#keys.replyPacing(channel), this.#intervalMs[channel], { burstMs: BURST_MS }));
    const job = await this.#queues.send[channel].add(name, { kind: 'reply', ...data }, { jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) });
    return { job, delayMs };
  }
}
