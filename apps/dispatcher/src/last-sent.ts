import type { Redis, RedisKeys } from '@tickercast/shared';

export interface LastSent {
  price: number;
  at: number;
}

/**
 * The price each subscriber last received per symbol, and when: the base of the change shown in
 * the next update, and of the EVERY interval.
 */
export class LastSentPrices {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }
  async get(subscriberId: string, symbol: string): Promise<LastSent | undefined> {
    const v = await this.#redis.hget(this.#keys.subscriberLastSent(subscriberId), symbol);
    if (v === null) return undefined;
    const [price, at] = v.split('|');
    return { price: Number(price), at: Number(at) };
  }
  async set(subscriberId: string, prices: Record<string, number>, at = Date.now()): Promise<void> {
    if (Object.keys(prices).length === 0) return;
    await this.#redis.hset(
      this.#keys.subscriberLastSent(subscriberId),
      Object.fromEntries(Object.entries(prices).map(([s, p]) => [s, `${p}|${at}`])),
    );
  }
}
