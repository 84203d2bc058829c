import type { RedisClient } from '../runtime/redis.ts';
import type { RedisKeys } from '../keys.ts';
import { LUA_NOW_MS, LuaScript } from '../runtime/lua.ts';

export interface PriceQuote {
  symbol: string;
  price: number;
  version: number;
  tickedAt: number;
}

/** Prices as one feed send read them, with when Redis read them (ms, to the µs, Redis' clock). */
export interface PricesRead {
  quotes: Map<string, PriceQuote>;
  readAt: string;
}

const READ_SCRIPT = new LuaScript(`
${LUA_NOW_MS}
if #ARGV == 0 then return { now, {} } end
return { now, redis.call('HMGET', KEYS[1], unpack(ARGV)) }
`);

/*
 * New prices (ARGV from the 4th: symbol, price pairs; KEYS from the 3rd: their history streams),
 * each with its version, when it was written by Redis' own clock (ms, to the µs: what the due
 * index compares with the times it read prices at, on the same clock; see due-index.ts) and its
 * place in the symbol's history, in one round trip; ARGV[1] is the tick's time, ARGV[2] the
 * history kept. Announced on the channel ARGV[3] unless it is empty:
 * [{"symbol":…,"version":…,"price":…,"writtenAt":"…"}, …] (tickAnnouncementSchema), published
 * once every price is written. The history is trimmed approximately (`~`), which lets Redis drop
 * whole nodes: cheap, and never fewer than the points asked for. Returns the versions, in order.
 */
const SET_SCRIPT = new LuaScript(`
${LUA_NOW_MS}
local versions, announced = {}, {}
for i = 4, #ARGV - 1, 2 do
  local symbol, price = ARGV[i], ARGV[i + 1]
  local v = redis.call('HINCRBY', KEYS[2], symbol, 1)
  redis.call('HSET', KEYS[1], symbol, price .. '|' .. v .. '|' .. ARGV[1] .. '|' .. now)
  redis.call('XADD', KEYS[3 + (i - 4) / 2], 'MAXLEN', '~', ARGV[2], '*', 'p', price, 'v', v, 't', ARGV[1])
  versions[#versions + 1] = v
  announced[#announced + 1] = string.format('{"symbol":%s,"version":%d,"price":%s,"writtenAt":"%s"}', cjson.encode(symbol), v, price, now)
end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], '[' .. table.concat(announced, ',') .. ']') end
return versions
`);

/** Ticks kept per symbol by default: an hour at the default 5 s tick. */
export const DEFAULT_HISTORY_POINTS = 720;

function decode(symbol: string, raw: string | null | undefined): PriceQuote | undefined {
  if (!raw) return undefined;
  const [price, version, tickedAt] = raw.split('|');
  return { symbol, price: Number(price), version: Number(version), tickedAt: Number(tickedAt) };
}

/**
 * The last-value cache: the latest price of each symbol, with a version bumped per tick, and a
 * capped history of recent ticks per symbol (PRICE_HISTORY_POINTS).
 */
export class PriceCache {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #historyPoints: number;

  constructor(redis: RedisClient, keys: RedisKeys, opts: { historyPoints?: number } = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#historyPoints = opts.historyPoints ?? DEFAULT_HISTORY_POINTS;
  }

  /** Writes one price, unannounced: no dispatcher wakes for it until its fan-out job or a refill of its own (see `tick`). */
  async set(symbol: string, price: number, tickedAt = Date.now()): Promise<PriceQuote> {
    const [quote] = await this.#write([{ symbol, price }], tickedAt, false);
    return quote!;
  }

  /**
   * Writes a tick's prices and announces them on `keys.tickAnnouncements`, in one script: every
   * dispatcher hears the tick as soon as its prices can be read (apps/dispatcher/src/tick-wake.ts).
   * The tick's fan-out jobs are the caller's (queues/ticks.ts `makeTick`).
   */
  async tick(moves: readonly { symbol: string; price: number }[], tickedAt = Date.now()): Promise<PriceQuote[]> {
    return this.#write(moves, tickedAt, true);
  }

  async #write(moves: readonly { symbol: string; price: number }[], tickedAt: number, announce: boolean): Promise<PriceQuote[]> {
    if (moves.length === 0) return [];
    const k = this.#keys;
    const versions = (await SET_SCRIPT.run(
      this.#redis,
      [k.prices, k.priceVersions, ...moves.map((m) => k.priceHistory(m.symbol))],
      [tickedAt, this.#historyPoints, announce ? k.tickAnnouncements : '', ...moves.flatMap((m) => [m.symbol, m.price.toFixed(4)])],
    )) as number[];
    return moves.map((m, i) => ({ symbol: m.symbol, price: Number(m.price.toFixed(4)), version: versions[i]!, tickedAt }));
  }

  /** The symbol's most recent ticks, oldest first, at most `limit`. */
  async history(symbol: string, limit: number): Promise<PriceQuote[]> {
    const entries = await this.#redis.xrevrange(this.#keys.priceHistory(symbol), '+', '-', 'COUNT', limit);
    return entries.reverse().map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      return { symbol, price: Number(f.p), version: Number(f.v), tickedAt: Number(f.t) };
    });
  }

  /** Recent ticks of each symbol, oldest first. */
  async histories(symbols: readonly string[], limit: number): Promise<Record<string, PriceQuote[]>> {
    const all = await Promise.all(symbols.map(async (s) => [s, await this.history(s, limit)] as const));
    return Object.fromEntries(all);
  }

  async get(symbol: string): Promise<PriceQuote | undefined> {
    return decode(symbol, await this.#redis.hget(this.#keys.prices, symbol));
  }

  /**
   * When each symbol's price was last written, by Redis' clock (ms, to the µs): what makes a
   * follower due (DueIndex). One read, whatever the number of subscribers.
   */
  async writeTimes(): Promise<Map<string, string>> {
    const { written } = await this.latest();
    return written;
  }

  /** In one read: when each symbol's price was last written (as writeTimes) and the price itself (what alerts are checked against). */
  async latest(): Promise<{ written: Map<string, string>; prices: Map<string, number> }> {
    const all = await this.#redis.hgetall(this.#keys.prices);
    const written = new Map<string, string>();
    const prices = new Map<string, number>();
    for (const [symbol, raw] of Object.entries(all)) {
      const [price, , , at] = raw.split('|');
      if (at) written.set(symbol, at);
      if (price) prices.set(symbol, Number(price));
    }
    return { written, prices };
  }

  /** The latest prices of these symbols, and when Redis read them. */
  async read(symbols: readonly string[]): Promise<PricesRead> {
    const [readAt, raws] = (await READ_SCRIPT.run(this.#redis, [this.#keys.prices], symbols)) as [string, (string | null)[]];
    const quotes = new Map<string, PriceQuote>();
    symbols.forEach((s, i) => {
      const q = decode(s, raws[i]);
      if (q) quotes.set(s, q);
    });
    return { quotes, readAt };
  }

  async getMany(symbols: readonly string[]): Promise<Map<string, PriceQuote>> {
    return (await this.read(symbols)).quotes;
  }
}
