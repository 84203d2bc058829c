import { LuaScript, type Redis, type RedisKeys } from '@tickercast/shared';

export interface LastSent {
  price: number;
  at: number;
}

/** What any send needs to know about its subscriber. */
export interface SubscriberContext {
  /** When the person last wrote to us (the WhatsApp and Messenger windows). */
  lastInboundAt: number | undefined;
  /** Their EVERY interval. */
  intervalMs: number | undefined;
}

/** What a price send needs besides: whether it still goes, and what went last. */
export interface PriceSendState extends SubscriberContext {
  /** Whether the symbol's fan-out set still holds them (a STOP wins over anything queued). */
  subscribed: boolean;
  previous: LastSent | undefined;
}

/*
 * The reads of a send that live under the {subs} hash tag, as one command. A reply needs the
 * subscriber's hash; a price send also the symbol's subscriber set and the last-sent hash: one
 * write and one reply instead of three. Single-slot, so it runs on Redis Cluster as the rest of
 * the layout does.
 */
const SEND_STATE_SCRIPT = new LuaScript(`
local ctx = redis.call('HMGET', KEYS[1], 'lastInboundAt', 'intervalMs')
if #KEYS == 1 then return { ctx[1] or false, ctx[2] or false } end
return { ctx[1] or false, ctx[2] or false, redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('HGET', KEYS[3], ARGV[2]) or false }
`);

function decode(v: string | null | undefined): LastSent | undefined {
  if (v === null || v === undefined) return undefined;
  const [price, at] = v.split('|');
  return { price: Number(price), at: Number(at) };
}

/**
 * The price each subscriber last received per symbol, and when: the base of the change shown in
 * the next update, and of the EVERY interval. Nothing else reads or writes the last-sent hash:
 * a confirmation (inbound) and a price send record through `set`, a send reads through `sendState`.
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

  /**
   * The one read of a subscriber's state for a send: for a reply their context; for a price send
   * (`symbol`) also whether they still follow it and the last price of it they got.
   */
  sendState(subscriberId: string): Promise<SubscriberContext>;
  sendState(subscriberId: string, symbol: string): Promise<PriceSendState>;
  async sendState(subscriberId: string, symbol?: string): Promise<SubscriberContext | PriceSendState> {
    const k = this.#keys;
    const keys = symbol === undefined ? [k.subscriber(subscriberId)] : [k.subscriber(subscriberId), k.symbolSubscribers(symbol), k.subscriberLastSent(subscriberId)];
    const raw = (await SEND_STATE_SCRIPT.run(this.#redis, keys, symbol === undefined ? [] : [subscriberId, symbol])) as [string | null, string | null, number?, (string | null)?];
    const [last, interval, member, previous] = raw;
    const context = { lastInboundAt: last ? Number(last) : undefined, intervalMs: interval ? Number(interval) : undefined };
    return symbol === undefined ? context : { ...context, subscribed: member === 1, previous: decode(previous) };
  }
}
