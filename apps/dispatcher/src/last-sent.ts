import type { Redis, RedisKeys } from '@tickercast/shared';

/** The price each subscriber last received per symbol: the base of the change shown in the next update. */
export class LastSentPrices {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }
  async get(subscriberId: string, symbol: string): Promise<number | undefined> {
    const v = await this.#redis.hget(this.#keys.subscriberLastSent(subscriberId), symbol);
    return v === null ? undefined : Number(v);
  }
  async set(subscriberId: string, prices: Record<string, number>): Promise<void> {
    if (Object.keys(prices).length === 0) return;
    await this.#redis.hset(this.#keys.subscriberLastSent(subscriberId), Object.fromEntries(Object.entries(prices).map(([s, p]) => [s, String(p)])));
  }
}
