import { CHANNELS, type Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import type { RedisClient } from '../runtime/redis.ts';

/**
 * Which channels have a dispatcher whose provider breaker is open, for the dashboard's banner.
 * The breaker lives in each dispatcher's memory; what it says is mirrored into a key per channel
 * with a short TTL, renewed at each failed probe and deleted when the provider answers: a
 * dispatcher that dies with its breaker open leaves a banner that goes by itself.
 */
export class ProviderStatus {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** The breaker of `channel` is open since `since` (ms); says so for `ttlMs` unless renewed. */
  async opened(channel: Channel, since: number, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#keys.providerBreakerOpen(channel), String(since), 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  /** The provider answers again on `channel`. */
  async closed(channel: Channel): Promise<void> {
    await this.#redis.del(this.#keys.providerBreakerOpen(channel));
  }

  /** Per channel, since when a breaker is open (ms), or null. One command: the keys share a hash tag. */
  async openSince(): Promise<Record<Channel, number | null>> {
    const values = await this.#redis.mget(CHANNELS.map((c) => this.#keys.providerBreakerOpen(c)));
    return Object.fromEntries(CHANNELS.map((c, i) => [c, values[i] ? Number(values[i]) : null])) as Record<Channel, number | null>;
  }
}
