import { LuaScript, type Redis, type RedisKeys } from '@tickercast/shared';

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

/*
 * The three reads of a price send that live under the {subs} hash tag — the subscriber's hash
 * (what SubscriptionStore.sendContext reads), the symbol's subscriber set (isSubscribed) and the
 * last-sent hash (get) — as one command: one write and one reply instead of three. Single-slot,
 * so it runs on Redis Cluster as the rest of the layout does.
 */
const SEND_STATE_SCRIPT = new LuaScript(`
local ctx = redis.call('HMGET', KEYS[1], 'lastInboundAt', 'intervalMs')
return { ctx[1] or false, ctx[2] or false, redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('HGET', KEYS[3], ARGV[2]) or false }
`);

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
  async set(subscriberId: string, prices: Record<string, number>, at = Date.now()): Promise<void> {
    const fields: string[] = [];
    for (const [symbol, price] of Object.entries(prices)) fields.push(symbol, `${price}|${at}`);
    if (fields.length === 0) return;
    await this.#redis.hset(this.#keys.subscriberLastSent(subscriberId), ...fields);
  }

  /** The subscriber's send context, whether they still follow `symbol`, and the last price of it they got: one round trip. */
  async sendState(subscriberId: string, symbol: string): Promise<SendState> {
    const k = this.#keys;
    const keys = [k.subscriber(subscriberId), k.symbolSubscribers(symbol), k.subscriberLastSent(subscriberId)];
    const raw = (await SEND_STATE_SCRIPT.run(this.#redis, keys, [subscriberId, symbol])) as [string | null, string | null, number, string | null];
    const [last, interval, member, previous] = raw;
    return {
      lastInboundAt: last ? Number(last) : undefined,
      intervalMs: interval ? Number(interval) : undefined,
      subscribed: member === 1,
      previous: decode(previous),
    };
  }
}
