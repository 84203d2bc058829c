import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CHANNEL_RULES, CHANNELS, type Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { takeSlot } from './gcra.ts';
import type { Queues, SendJob } from '../queues/queues.ts';
import { replySend } from '../queues/send-jobs.ts';

type ReplyJob = Extract<SendJob, { kind: 'reply' }>;

/** The longest reply each channel takes (the channel table's replyTextMax). */
export const REPLY_TEXT_MAX = Object.fromEntries(CHANNELS.map((c) => [c, CHANNEL_RULES[c].replyTextMax])) as Record<Channel, number>;

/**
 * A reply that fits its channel: a longer one is cut between words and ends with "…", so it is
 * sent shortened rather than refused by the provider (and failed) in full.
 */
export function fitReplyText(channel: Channel, text: string): string {
  const max = REPLY_TEXT_MAX[channel];
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  const cut = room.search(/\s\S*$/);
  return `${(cut > 0 ? room.slice(0, cut) : room).trimEnd()}…`;
}

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

  /** Adds the reply, fitted to its channel; `jobId` makes a retried caller add it once. Resolves with the job and its delay. */
  async add(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string): Promise<{ job: Job<SendJob>; delayMs: number }> {
    const delayMs = (await this.reserve(channel))!;
    return { job: await this.addReserved(channel, name, data, jobId, delayMs), delayMs };
  }

  /**
   * Takes the channel's next slot on this schedule and answers how many ms until it comes, or
   * undefined (and takes nothing) when it is further off than `maxDelayMs`. For a caller that
   * must know a reply can go before it writes anything else (a web signup's pending record).
   */
  async reserve(channel: Channel, maxDelayMs?: number): Promise<number | undefined> {
    const slot = await takeSlot(this.#redis, this.#schedule(channel), this.#intervalMs[channel], { burstMs: this.#burstMs, horizonMs: maxDelayMs });
    return slot < 0 ? undefined : Math.floor(slot);
  }

  /** Adds the reply, fitted to its channel, to go in `delayMs`: a slot reserve() took. */
  async addReserved(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string, delayMs: number): Promise<Job<SendJob>> {
    const send = replySend(name, data.subscriberId, fitReplyText(channel, data.text), jobId, delayMs);
    return this.#queues.send[channel].add(send.name, send.data, send.opts);
  }
}
