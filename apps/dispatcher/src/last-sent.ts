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

/** What a feed send needs besides: whether it still goes, what they follow, and what went last of each. */
export interface FeedSendState extends SubscriberContext {
  /** Opted in, with something to follow (a STOP wins over anything queued). */
  subscribed: boolean;
  /** Their symbols, sorted. */
  symbols: string[];
  previous: Map<string, LastSent>;
}

/*
 * The reads of a send that live under the subscriber's keys, as one command: for a reply their
 * hash; for a feed send also their symbols and the last price of each they were sent. Single-slot
 * ({subs}), so it runs on Redis Cluster as the rest of the layout does.
 */
const SEND_STATE_SCRIPT = new LuaScript(`
local ctx = redis.call('HMGET', KEYS[1], 'lastInboundAt', 'intervalMs', 'status')
if #KEYS == 1 then return { ctx[1] or false, ctx[2] or false } end
local syms = redis.call('SMEMBERS', KEYS[2])
local last = {}
if #syms > 0 then last = redis.call('HMGET', KEYS[3], unpack(syms)) end
return { ctx[1] or false, ctx[2] or false, ctx[3] or false, syms, last }
`);

function decode(v: string | null | undefined): LastSent | undefined {
  if (v === null || v === undefined) return undefined;
  const [price, at] = v.split('|');
  return { price: Number(price), at: Number(at) };
}

/**
 * The price each subscriber last received per symbol, and when: the base of the change shown in
 * the next update, and of the EVERY interval. Nothing else reads or writes the last-sent hash:
 * a confirmation (inbound) and a feed send record through `set`, a send reads through `replyState`
 * or `feedState`.
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

  /** The one read of a subscriber's state for a reply: their context. */
  async replyState(subscriberId: string): Promise<SubscriberContext> {
    const [last, interval] = (await SEND_STATE_SCRIPT.run(this.#redis, [this.#keys.subscriber(subscriberId)], [])) as [string | null, string | null];
    return { lastInboundAt: last ? Number(last) : undefined, intervalMs: interval ? Number(interval) : undefined };
  }

  /** The one read of a subscriber's state for a feed send: their context, symbols, and the last price of each they got. */
  async feedState(subscriberId: string): Promise<FeedSendState> {
    const k = this.#keys;
    const raw = (await SEND_STATE_SCRIPT.run(this.#redis, [k.subscriber(subscriberId), k.subscriberSymbols(subscriberId), k.subscriberLastSent(subscriberId)], [])) as [
      string | null,
      string | null,
      string | null,
      string[],
      (string | null)[],
    ];
    const [last, interval, status, symbols, lastSent] = raw;
    const previous = new Map<string, LastSent>();
    symbols.forEach((s, i) => {
      const v = decode(lastSent[i]);
      if (v) previous.set(s, v);
    });
    return {
      lastInboundAt: last ? Number(last) : undefined,
      intervalMs: interval ? Number(interval) : undefined,
      subscribed: status !== 'stopped' && symbols.length > 0,
      symbols: symbols.sort(),
      previous,
    };
  }
}
