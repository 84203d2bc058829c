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
 * Queues replies to people (answers, confirmations) on a channel's send queue ahead of the feed.
 *
 * A reply carries no priority, so BullMQ serves it before every waiting feed update, under the
 * channel's one limiter. That alone would let a burst of replies hold the feed back for as long
 * as the burst lasts; so replies beyond `share` of the channel's rate (after a one-second burst)
 * are added with a delay that spreads them out (a slot on a schedule in Redis, gcra.ts). When due they still go first, and the feed keeps
 * at least the rest of the rate.
 */
export class ReplyQueue {
  readonly #queues: Queues;
  readonly #redis: Redis;
  readonly #intervalMs: Record<Channel, number>;
  readonly #schedule: (channel: Channel) => string;
  readonly #burstMs: number;

  /**
   * `schedule` picks the schedule in Redis (replies to people by default; web-signup confirmations
   * keep one of their own with a smaller share, so that a flood of signups cannot take the
   * replies' share); `burstMs` how much of it may go at once.
   */
  constructor(
    queues: Queues,
    redis: Redis,
    keys: RedisKeys,
    opts: { rates: Record<Channel, number>; share: number; schedule?: 'replies' | 'signups'; burstMs?: number },
  ) {
    this.#queues = queues;
    this.#redis = redis;
    this.#intervalMs = Object.fromEntries(
      Object.entries(opts.rates).map(([channel, rate]) => [channel, 1000 / (rate * opts.share)]),
    ) as Record<Channel, number>;
    this.#schedule = opts.schedule === 'signups' ? keys.signupPacing : keys.replyPacing;
    this.#burstMs = opts.burstMs ?? BURST_MS;
  }

  /** Adds the reply; `jobId` makes a retried caller add it once. Resolves with the job and its delay. */
  async add(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string): Promise<{ job: Job<SendJob>; delayMs: number }> {
    return (await this.#add(channel, name, data, jobId, -1))!;
  }

  /** As add(), unless the reply would wait longer than `maxDelayMs`: then nothing is added (undefined). */
  async addWithin(
    channel: Channel,
    name: string,
    data: Omit<ReplyJob, 'kind'>,
    jobId: string,
    maxDelayMs: number,
  ): Promise<{ job: Job<SendJob>; delayMs: number } | undefined> {
    return this.#add(channel, name, data, jobId, maxDelayMs);
  }

  async #add(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string, horizonMs: number) {
    const slot = await takeSlot(this.#redis, this.#schedule(channel), this.#intervalMs[channel], { burstMs: this.#burstMs, horizonMs });
    if (slot < 0) return undefined;
    const delayMs = Math.floor(slot);
    const job = await this.#queues.send[channel].add(name, { kind: 'reply', ...data }, { jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) });
    return { job, delayMs };
  }
}
