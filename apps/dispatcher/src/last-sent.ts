import type { Redis, RedisKeys } from '@tickercast/shared';

export interface LastSent {
  price: number;
  at: number;
}

/** What a price send needs to know about its subscriber, read in one round trip. */
export interface SendState {
  /** When the person last wrote to us (the WhatsApp and Messenger windows). */
  lastInboundAt: number | undefined;
  /** Their EVERY interval. */
  intervalMs: number | undefined;
  /** Whether the symbol's fan-out set still holds them (a STOP wins over anything queued). */
  subscribed: boolean;
  previous: LastSent | undefined;
}

function decode(v: string | null | undefined): LastSent | undefined {
  if (v === null || v === undefined) return undefined;
  const [price, at] = v.split('|');
  return { price: Number(price), at: Number(at) };
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
    return decode(await this.#redis.hget(this.#keys.subscriberLastSent(subscriberId), symbol));
  }
  async set(subscriberId: string, prices: Record<string, number>, at = Date.now()): Promise<void> {
    const fields: string[] = [];
    for (const [symbol, price] of Object.entries(prices)) fields.push(symbol, `${price}|${at}`);
    if (fields.length === 0) return;
    await this.#redis.hset(this.#keys.subscriberLastSent(subscriberId), ...fields);
  }

  /**
   * The subscriber's send context (what SubscriptionStore.sendContext reads), whether they still
   * follow `symbol` (a STOP wins over anything queued) and the last price of it they got: three
   * plain reads in one pipeline, one round trip. (A Lua script doing the same costs Redis several
   * times the CPU of the three commands, measured with INFO commandstats.)
   */
  async sendState(subscriberId: string, symbol: string): Promise<SendState> {
    const k = this.#keys;
    const results = await this.#redis
      .pipeline()
      .hmget(k.subscriber(subscriberId), 'lastInboundAt', 'intervalMs')
      .sismember(k.symbolSubscribers(symbol), subscriberId)
      .hget(k.subscriberLastSent(subscriberId), symbol)
      .exec();
    const [ctx, member, previous] = (results ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [(string | null)[], number, string | null];
    return {
      lastInboundAt: ctx[0] ? Number(ctx[0]) : undefined,
      intervalMs: ctx[1] ? Number(ctx[1]) : undefined,
      subscribed: member === 1,
      previous: decode(previous),
    };
  }
}
