import type { RedisClient } from '../runtime/redis.ts';
import type { Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';
import { sendSpacingMs } from './send-pacer.ts';

/*
 * 1 when no feed send has gone for ARGV[1] ms: the caller owes the feed one, and the mark moves
 * to now, so that only one caller of all dispatchers answers for it. A channel never marked
 * starts its clock now.
 */
const OWED = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('GET', KEYS[1])
if last and now - tonumber(last) <= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], tostring(now), 'PX', ARGV[2])
if last then return 1 end
return 0
`);

/** The key a feed send's slot sets to now when taken, and its TTL: when a feed update last took a slot. */
export interface FeedMark {
  key: string;
  ttlMs: number;
}

/**
 * The feed's floor while replies wait. ReplyPacer spreads replies over `share` of the channel's
 * slots, which leaves the feed the rest only while sends keep up with their slots; when they do
 * not (a slow provider, a busy machine, few workers), replies fall due faster than sends go, and
 * BullMQ, which serves every waiting reply before any feed update, would give them every send.
 * So the floor is kept by the sends too: when no feed update has gone for the time of
 * 1 / (1 − share) sends (one second at 20/s and the default 0.95) while replies go, the reply
 * being sent puts the next feed update at the head of the queue (`owed`, then the caller moves it).
 */
export class FeedFloor {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #owedAfterMs: Record<Channel, number>;

  constructor(redis: RedisClient, keys: RedisKeys, rates: Record<Channel, number>, replyShare: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#owedAfterMs = Object.fromEntries(
      Object.entries(rates).map(([c, rate]) => [c, replyShare >= 1 ? Infinity : sendSpacingMs(rate) / (1 - replyShare)]),
    ) as Record<Channel, number>;
  }

  /**
   * What a feed send's slot marks when it is taken (SendWindow.reserve sets it to Redis's now, in
   * the same script as the slot): none when the floor is off.
   */
  mark(channel: Channel): FeedMark | undefined {
    if (this.#owedAfterMs[channel] === Infinity) return undefined;
    return { key: this.#keys.feedSentAt(channel), ttlMs: this.#ttlMs(channel) };
  }

  /** For a reply about to take a slot: whether the feed is owed one now (answered true once per owed send, across dispatchers). */
  async owed(channel: Channel): Promise<boolean> {
    if (this.#owedAfterMs[channel] === Infinity) return false;
    return Number(await OWED.run(this.#redis, [this.#keys.feedSentAt(channel)], [this.#owedAfterMs[channel], this.#ttlMs(channel)])) === 1;
  }

  #ttlMs(channel: Channel): number {
    return Math.ceil(this.#owedAfterMs[channel]) + 60_000;
  }
}
