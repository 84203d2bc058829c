import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Channel } from './channels.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './lua.ts';
import type { Queues, SendJob } from './queues.ts';

type ReplyJob = Extract<SendJob, { kind: 'reply' }>;

/**
 * GCRA over Redis time, shared by every process that queues replies: returns how long this reply
 * should wait so that, past a one-`burst_ms` burst, replies come no closer than `interval_ms`.
 * Redis's clock keeps ingress and dispatcher replicas on one schedule.
 */
const PACE_SCRIPT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - burst
if wait < 0 then wait = 0 end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return math.floor(wait)
`);

/** Up to this long, replies beyond the share still go at once: a second's worth. */
const BURST_MS = 1000;

/**
 * Queues replies to people (answers, confirmations) on a channel's send queue ahead of the feed.
 *
 * A reply carries no priority, so BullMQ serves it before every waiting feed update, under the
 * channel's one limiter. That alone would let a burst of replies hold the feed back for as long
 * as the burst lasts; so replies beyond `share` of the channel's rate (after a one-second burst)
 * are added with a delay that spreads them out. When due they still go first, and the feed keeps
 * at least the rest of the rate.
 */
export class ReplyQueue {
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
    const delayMs = (await PACE_SCRIPT.run(this.#redis, [this.#keys.replyPacing(channel)], [this.#intervalMs[channel], BURST_MS])) as number;
    const job = await this.#queues.send[channel].add(name, { kind: 'reply', ...data }, { jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) });
    return { job, delayMs };
  }
}
