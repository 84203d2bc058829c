import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';

/*
 * The sends of a channel that may still share a second with a new one at the provider, as a
 * sorted set: member a send's token, score the latest its request can have arrived (Redis ms).
 * While a request is in flight that is its start plus the client's timeout; once its answer is
 * back, the time of the answer. ARGV: limit, in-flight bound (ms), token.
 * Returns {1} (taken) or {0, ms until an entry leaves}.
 */
const CLAIM = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, inflight = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - 1000))
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], string.format('%.3f', now + inflight), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(inflight) + 2000)
  return {1}
end
local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {0, tostring(math.max(1, tonumber(e[2]) + 1000 - now))}
`);

/* The answer is back: the request arrived no later than now. Only lowers a bound, never adds one. */
const DONE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local bound = redis.call('ZSCORE', KEYS[1], ARGV[1])
if bound and tonumber(bound) > now then redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[1]) end
return 0
`);

/**
 * While the place that must free is a request still in flight, the window is asked again this
 * often (its answer may come any moment); once it is answered, the wait is exact.
 */
const POLL_MS = 20;

/**
 * What makes "never above the rate in any rolling second at the provider" hold whatever a
 * request's way there costs (a busy event loop on either side, a slow network): a send may start
 * only while fewer than `rate` earlier sends can still have arrived within the last second. A
 * request arrives after it starts and before its answer comes back, so if the `rate`-th send
 * before it was answered a second or more before it starts, the two cannot share a second, and
 * no second holds more than `rate`. Shared by every dispatcher through Redis, on Redis's clock:
 * the start is taken before the request is written and the answer's time after it is read, so
 * both err on the safe side.
 *
 * The GCRA schedule (SendPacer) spaces sends so that this rarely waits: the send `rate` slots
 * back has had (1000 + RATE_JITTER_MS) ms, so only an answer slower than RATE_JITTER_MS (15 ms)
 * holds a send back. Against a provider far away the window, not the spacing, sets the pace:
 * about rate × 1000 / (1000 + answer time) a second (96% of the rate with 40 ms answers).
 */
export class SendWindow {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #limit: Record<Channel, number>;
  readonly #inflightMs: number;
  /** Per channel, the claim before this process's next one: one at a time, in order, so that sends kept waiting neither poll Redis all at once nor overtake each other. */
  readonly #turn = new Map<Channel, Promise<unknown>>();

  /** `requestTimeoutMs`: the client's timeout, after which a request without an answer is abandoned. */
  constructor(redis: Redis, keys: RedisKeys, rates: Record<Channel, number>, requestTimeoutMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#limit = Object.fromEntries(Object.entries(rates).map(([c, rate]) => [c, Math.max(1, Math.floor(rate))])) as Record<Channel, number>;
    // A dispatcher that dies mid-request leaves its entry until the request would have timed out, and a second more.
    this.#inflightMs = requestTimeoutMs + 1000;
  }

  /** Waits until the channel's window has room, takes a place in it, and answers the token to give back to `done`. */
  claim(channel: Channel): Promise<string> {
    const previous = this.#turn.get(channel) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => this.#claimNow(channel));
    this.#turn.set(channel, mine);
    return mine;
  }

  async #claimNow(channel: Channel): Promise<string> {
    const token = randomUUID();
    for (;;) {
      const [taken, wait] = (await CLAIM.run(this.#redis, [this.#keys.sendWindow(channel)], [this.#limit[channel], this.#inflightMs, token])) as [number, string?];
      if (taken === 1) return token;
      const waitMs = Number(wait);
      // Over a second off, the place is held by a request still in flight (its bound is provisional).
      await new Promise((r) => setTimeout(r, waitMs <= 1000 ? waitMs : POLL_MS));
    }
  }

  /** The request's answer (or failure) is back. */
  async done(channel: Channel, token: string): Promise<void> {
    await DONE.run(this.#redis, [this.#keys.sendWindow(channel)], [token]);
  }

  /** Runs `send` inside the window: claimed before, released (its arrival bound fixed) after, whatever it ends in. */
  async around<T>(channel: Channel, send: () => Promise<T>): Promise<T> {
    const token = await this.claim(channel);
    try {
      return await send();
    } finally {
      // Not given back, the place frees itself at its in-flight bound: slower, never unsafe. A send
      // that went out must not fail (and go again) for it.
      await this.done(channel, token).catch(() => undefined);
    }
  }
}
