import {
  decodeAlert,
  duePartition,
  LUA_ALERT_FIELDS,
  LUA_SYMBOL_FIELDS,
  LuaScript,
  parseSubscriberId,
  quietOf,
  type Alert,
  type Channel,
  type Fallback,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';
import type { QuietWindow } from './quiet-hours.ts';

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
  /** Where the provider sends their messages when their channel cannot deliver them (FALLBACK SMS). */
  fallback: Fallback | undefined;
}

/** What a feed send needs besides: whether it still goes, what they follow, and what went last of each. */
export interface FeedSendState extends SubscriberContext {
  /** Opted in, with something to follow or an alert fired (a STOP wins over anything queued). */
  subscribed: boolean;
  /** Their symbols, sorted. */
  symbols: string[];
  previous: Map<string, LastSent>;
  /** Their quiet hours in their time zone (UTC when they named none and their number gives none). */
  quiet: QuietWindow | undefined;
  /** Their alerts whose message is due (fired), by symbol. */
  fired: Alert[];
  /**
   * One of the fired alerts was set with NOW (ALERT MSFT > 420 NOW): this send may go in the
   * person's quiet hours.
   */
  urgent: boolean;
}

/*
 * The read of a send, from the subscriber's record: for a reply their context; for a feed send
 * also their symbols and the last price of each they were sent (the record's `sym:` fields), and
 * their fired alerts (field and value in pairs). A feed send that finds no alert fired lets go of
 * their place in the alerts due set (an alert removed after it fired): one that fires from now on
 * puts them back. KEYS: record, and for a feed send the partition's alerts due. ARGV: what for, id.
 */
const SEND_STATE_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
${LUA_ALERT_FIELDS}
local ctx = redis.call('HMGET', KEYS[1], 'lastInboundAt', 'intervalMs', 'status', 'fallbackChannel', 'fallbackAddress')
local fallback = { ctx[4] or false, ctx[5] or false }
if ARGV[1] == 'reply' then return { ctx[1] or false, ctx[2] or false, fallback } end
local syms, last, fired = {}, {}, {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local s = symbol_of(flat[i])
  if s then
    syms[#syms + 1] = s
    last[#last + 1] = flat[i + 1]
  elseif alert_of(flat[i]) and alert_state(flat[i + 1]) == 'fired' then
    fired[#fired + 1] = flat[i]
    fired[#fired + 1] = flat[i + 1]
  end
end
local quiet = redis.call('HMGET', KEYS[1], 'quietStart', 'quietEnd', 'timeZone')
if #fired == 0 then redis.call('ZREM', KEYS[2], ARGV[2]) end
return { ctx[1] or false, ctx[2] or false, ctx[3] or false, syms, last, fallback, fired, { quiet[1] or false, quiet[2] or false, quiet[3] or false } }
`);

/* Records what was sent, per symbol, where the subscriber still follows it. ARGV: symbol and `price|ms` in pairs. */
const SET_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
set_last_sent(KEYS[1], 1)
return 1
`);

type RawFallback = [string | null, string | null];

function decodeFallback([channel, address]: RawFallback): Fallback | undefined {
  return channel && address ? { channel: channel as Channel, address } : undefined;
}

/** What a send writes of the prices it carried: symbol and `price|ms` in pairs (the record's `sym:` fields' values). */
export function lastSentFields(prices: Record<string, number>, at: number): string[] {
  return Object.entries(prices).flatMap(([symbol, price]) => [symbol, `${price}|${at}`]);
}

function decode(v: string | null | undefined): LastSent | undefined {
  if (!v) return undefined;
  const [price, at] = v.split('|');
  return { price: Number(price), at: Number(at) };
}

/**
 * The price each subscriber last received per symbol, and when: the base of the change shown in
 * the next update, and of the EVERY interval, kept in their record's `sym:` fields. Nothing else
 * writes a price there (SUBSCRIBE only makes a new field empty): a confirmation (inbound) and a
 * feed send record through `set`, a send reads through `replyState` or `feedState`.
 */
export class LastSentPrices {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }
  async set(subscriberId: string, prices: Record<string, number>, at = Date.now()): Promise<void> {
    const fields = lastSentFields(prices, at);
    if (fields.length === 0) return;
    await SET_SCRIPT.run(this.#redis, [this.#keys.subscriber(subscriberId)], fields);
  }

  /** The one read of a subscriber's state for a reply: their context. */
  async replyState(subscriberId: string): Promise<SubscriberContext> {
    const [last, interval, fallback] = (await SEND_STATE_SCRIPT.run(this.#redis, [this.#keys.subscriber(subscriberId)], ['reply'])) as [
      string | null,
      string | null,
      RawFallback,
    ];
    return { lastInboundAt: last ? Number(last) : undefined, intervalMs: interval ? Number(interval) : undefined, fallback: decodeFallback(fallback) };
  }

  /** The one read of a subscriber's state for a feed send: their context, symbols, and the last price of each they got. */
  async feedState(subscriberId: string): Promise<FeedSendState> {
    const k = this.#keys;
    const { channel } = parseSubscriberId(subscriberId);
    const raw = (await SEND_STATE_SCRIPT.run(this.#redis, [k.subscriber(subscriberId), k.alertsDue(channel, duePartition(subscriberId))], ['feed', subscriberId])) as [
      string | null,
      string | null,
      string | null,
      string[],
      (string | null)[],
      RawFallback,
      string[],
      [string | null, string | null, string | null],
    ];
    const [last, interval, status, symbols, lastSent, fallback, firedFlat, [quietStart, quietEnd, timeZone]] = raw;
    const quiet = quietOf(quietStart, quietEnd)?.quiet;
    const previous = new Map<string, LastSent>();
    symbols.forEach((s, i) => {
      const v = decode(lastSent[i]);
      if (v) previous.set(s, v);
    });
    const fired: Alert[] = [];
    for (let i = 0; i + 1 < firedFlat.length; i += 2) {
      const a = decodeAlert(firedFlat[i]!, firedFlat[i + 1]!);
      if (a) fired.push(a);
    }
    fired.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return {
      lastInboundAt: last ? Number(last) : undefined,
      intervalMs: interval ? Number(interval) : undefined,
      fallback: decodeFallback(fallback),
      subscribed: status !== 'stopped' && (symbols.length > 0 || fired.length > 0),
      symbols: symbols.sort(),
      previous,
      quiet: quiet ? { ...quiet, timeZone: timeZone ?? 'UTC' } : undefined,
      fired,
      urgent: fired.some((a) => a.urgent),
    };
  }
}
