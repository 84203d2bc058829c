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
  /**
   * Per channel, the last of this process's sends kept waiting for the window: they wait in line,
   * one asking Redis at a time, so that they neither poll it all at once nor overtake each other.
   * A send finding no line asks at once.
   */
  readonly #line = new Map<Channel, { last: Promise<unknown>; waiting: number }>();

  /** `requestTimeoutMs`: the client's timeout, after which a request without an answer is abandoned. */
  constructor(redis: Redis, keys: RedisKeys, rates: Record<Channel, number>, requestTimeoutMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#limit = Object.fromEntries(Object.entries(rates).map(([c, rate]) => [c, Math.max(1, Math.floor(rate))])) as Record<Channel, number>;
    // A dispatcher that dies mid-request leaves its entry until the request would have timed out, and a second more.
    this.#inflightMs = requestTimeoutMs + 1000;
  }

  /** Waits until the channel's window has room, takes a place in it, and answers the token to give back to `done`. */
  async claim(channel: Channel): Promise<string> {
    const token = randomUUID();
    let line = this.#line.get(channel);
    if (!line || line.waiting === 0) {
      const waitMs = await this.#tryClaim(channel, token);
      if (waitMs === undefined) return token;
      line = this.#line.get(channel);
    }
    if (!line) this.#line.set(channel, (line = { last: Promise.resolve(), waiting: 0 }));
    const queue = line;
    queue.waiting++;
    const mine = queue.last.catch(() => undefined).then(async () => {
      for (;;) {
        const waitMs = await this.#tryClaim(channel, token);
        if (waitMs === undefined) return token;
        // Over a second off, the place is held by a request still in flight (its bound is provisional).
        await new Promise((r) => setTimeout(r, waitMs <= 1000 ? waitMs : POLL_MS));
      }
    });
    queue.last = mine;
    try {
      return await mine;
    } finally {
      queue.waiting--;
    }
  }

  /** Takes a place if there is room (undefined), else answers how long until there may be. */
  async #tryClaim(channel: Channel, token: string): Promise<number | undefined> {
    const [taken, wait] = (await CLAIM.run(this.#redis, [this.#keys.sendWindow(channel)], [this.#limit[channel], this.#inflightMs, token])) as [number, string?];
    return taken === 1 ? undefined : Number(wait);
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
      // Sent now, not awaited: the job need not wait for it. Not given back, the place frees itself
      // at its in-flight bound: slower, never unsafe; a send that went out must not fail for it.
      this.done(channel, token).catch(() => undefined);
    }
  }
}
