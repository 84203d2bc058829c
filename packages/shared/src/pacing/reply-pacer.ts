import type { Job } from 'bullmq';
import type { RedisClient } from '../runtime/redis.ts';
import { CHANNEL_RULES, CHANNELS, type Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { takeSlot } from './gcra.ts';
import { sendSpacingMs } from './send-pacer.ts';
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

/**
 * Paces replies to people (answers, confirmations) onto a channel's send queue, ahead of the feed.
 *
 * A person who just wrote is waiting for the answer; a feed update that waits is replaced by a
 * fresher one (conflation), so it loses nothing. A reply carries no priority, so BullMQ serves it
 * before every waiting feed update, under the channel's one schedule of sends. Unpaced, a burst
 * of replies would stop the feed for as long as it lasts; so replies take at most `share` of the
 * channel's sends (its real slots, SendPacer's spacing): each reply takes the next slot of a
 * schedule of their own in Redis (gcra.ts), `spacing / share` apart, and is added with the delay
 * until it. While replies wait they get nearly every slot, the feed keeps the rest as a floor (at
 * the default share of 0.95, one send in twenty), and once they are drained the feed has every
 * slot again. No burst beyond the share: a second's worth at once would let the replies behind it
 * catch up on the feed's floor for 1 / (1 − share) seconds (twenty at 0.95), the feed stopped;
 * a reply on its own still goes at once, and one close behind it waits a slot or so.
 */
export class ReplyPacer {
  readonly #queues: Queues;
  readonly #redis: RedisClient;
  readonly #intervalMs: Record<Channel, number>;
  readonly #schedule: (channel: Channel) => string;

  /**
   * `schedule` picks the schedule in Redis (replies to people by default; web-signup confirmations
   * keep one of their own with a smaller share, so that a flood of signups cannot take the
   * replies' share).
   */
  constructor(
    queues: Queues,
    redis: RedisClient,
    keys: RedisKeys,
    opts: { rates: Record<Channel, number>; share: number; schedule?: 'replies' | 'signups' },
  ) {
    this.#queues = queues;
    this.#redis = redis;
    this.#intervalMs = Object.fromEntries(
      Object.entries(opts.rates).map(([channel, rate]) => [channel, sendSpacingMs(rate) / opts.share]),
    ) as Record<Channel, number>;
    this.#schedule = opts.schedule === 'signups' ? keys.signupPacing : keys.replyPacing;
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
    const slot = await takeSlot(this.#redis, this.#schedule(channel), this.#intervalMs[channel], { horizonMs: maxDelayMs });
    return slot < 0 ? undefined : Math.floor(slot);
  }

  /** Adds the reply, fitted to its channel, to go in `delayMs`: a slot reserve() took. */
  async addReserved(channel: Channel, name: string, data: Omit<ReplyJob, 'kind'>, jobId: string, delayMs: number): Promise<Job<SendJob>> {
    const send = replySend(name, { ...data, text: fitReplyText(channel, data.text) }, jobId, delayMs);
    return this.#queues.sendFor(data.subscriberId).add(send.name, send.data, send.opts);
  }
}
