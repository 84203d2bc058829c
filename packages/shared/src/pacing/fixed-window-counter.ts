import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';
import type { RedisClient } from '../runtime/redis.ts';

/*
 * A fixed window per subject, opened by its first hit: INCR, and on the first one PEXPIRE, in
 * one script (so a counter can never be left without its TTL). It lives in Redis, so the limit
 * holds across every replica: the web signup's (ingress) and the SMS fallback's (dispatcher)
 * confirmations count against the same budgets.
 */
const HIT_SCRIPT = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`);

export interface RateDecision {
  allowed: boolean;
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window closes. */
  resetMs: number;
}

/**
 * Hits per subject in fixed windows, each opened by its subject's first hit: a coarse limit (per
 * hour, per day) where up to twice `max` may pass across the end of one window and the start of
 * the next. Not a rate limiter in the sense of the send pacing or the simulator's rolling window.
 */
export class FixedWindowCounter {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #scope: string;
  readonly #max: number;
  readonly #windowMs: number;

  constructor(o: { redis: RedisClient; keys: RedisKeys; scope: string; max: number; windowMs: number }) {
    this.#redis = o.redis;
    this.#keys = o.keys;
    this.#scope = o.scope;
    this.#max = o.max;
    this.#windowMs = o.windowMs;
  }

  /** Counts one hit by `subject` and says whether it is within the limit. */
  async hit(subject: string): Promise<RateDecision> {
    const [count, resetMs] = (await HIT_SCRIPT.run(this.#redis, [this.#keys.rateLimit(this.#scope, subject)], [this.#windowMs])) as [number, number];
    return { allowed: count <= this.#max, count, resetMs };
  }
}
