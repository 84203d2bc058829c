import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './lua.ts';

export interface PriceQuote {
  symbol: string;
  price: number;
  version: number;
  tickedAt: number;
}

const SET_SCRIPT = new LuaScript(`
local v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. v .. '|' .. ARGV[3])
return v
`);

function decode(symbol: string, raw: string | null | undefined): PriceQuote | undefined {
  if (!raw) return undefined;
  const [price, version, tickedAt] = raw.split('|');
  return { symbol, price: Number(price), version: Number(version), tickedAt: Number(tickedAt) };
}

/** The last-value cache: the latest price of each symbol, with a version bumped per tick. */
export class PriceCache {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async set(symbol: string, price: number, tickedAt = Date.now()): Promise<PriceQuote> {
    const version = (await SET_SCRIPT.run(this.#redis, [this.#keys.prices, this.#keys.priceVersions], [symbol, price.toFixed(4), tickedAt])) as number;
    return { symbol, price: Number(price.toFixed(4)), version, tickedAt };
  }

  async get(symbol: string): Promise<PriceQuote | undefined> {
    return decode(symbol, await this.#redis.hget(this.#keys.prices, symbol));
  }

  async getMany(symbols: readonly string[]): Promise<Map<string, PriceQuote>> {
    const out = new Map<string, PriceQuote>();
    if (symbols.length === 0) return out;
    const raws = await this.#redis.hmget(this.#keys.prices, ...symbols);
    symbols.forEach((s, i) => {
      const q = decode(s, raws[i]);
      if (q) out.set(s, q);
    });
    return out;
  }
}
