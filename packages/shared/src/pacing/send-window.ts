import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../runtime/redis.ts';
import type { Channel } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import type { FeedMark } from './feed-floor.ts';
import { LuaScript } from '../runtime/lua.ts';

/*
 * A channel's next send slot (GCRA, KEYS[1]: the next free slot, Redis ms) and its window at the
 * provider (KEYS[2]: sorted set, member a send's token, score the latest its request can have
 * arrived: while in flight, its slot plus the client's timeout; once answered, the answer's time).
 * The slot is taken only if, by then, fewer than `limit` earlier sends can still have arrived
 * within a second of it. ARGV: interval, horizon, limit, in-flight bound (ms), token, then the
 * mark's TTL and the tokens whose answers are back (given back first, as DONE does). A feed send
 * also marks the slot taken (FeedFloor.mark): KEYS[3] set to now (ms) with the TTL ARGV[6].
 * Returns {1, wait} (taken, this many ms from now) or {0, rest} (none: ask again in `rest` ms).
 */
const LUA_GIVE_BACK = `
local function give_back(window, now, from)
  for i = from, #ARGV do
    local bound = redis.call('ZSCORE', window, ARGV[i])
    if bound and tonumber(bound) > now then redis.call('ZADD', window, string.format('%.3f', now), ARGV[i]) end
  end
end
`;

const RESERVE = new LuaScript(`${LUA_GIVE_BACK}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
give_back(KEYS[2], now, 7)
local interval, horizon, limit, inflight = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > horizon then return {0, tostring(wait - horizon)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.3f', now - 1000))
local from = string.format('(%.3f', tat - 1000)
local n = redis.call('ZCOUNT', KEYS[2], from, '+inf')
if n >= limit then
  local e = redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
  local free = tonumber(e[2]) + 1000 - tat
  -- Held by a request still in flight (a provisional bound): ask again soon, its answer may come any moment.
  if tonumber(e[2]) > now then free = 20 end
  return {0, tostring(math.max(1, free))}
end
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'PX', math.ceil(wait + interval) + 1000)
redis.call('ZADD', KEYS[2], string.format('%.3f', tat + inflight), ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil(wait + inflight) + 2000)
if KEYS[3] then redis.call('SET', KEYS[3], tostring(math.floor(now)), 'PX', ARGV[6]) end
return {1, tostring(wait)}
`);

/* The requests' answers (or failures) are back, or they never went (ARGV: their tokens): each arrived no later than now. Only lowers a bound. */
const DONE = new LuaScript(`${LUA_GIVE_BACK}
local t = redis.call('TIME')
give_back(KEYS[1], tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000, 1)
return 0
`);

/**
 * What makes "never above the rate in any rolling second at the provider" hold whatever a
 * request's way there costs (a busy event loop on either side, a slow network): a send's slot is
 * given only while fewer than `rate` earlier sends can still have arrived within a second of it.
 * A request arrives after its slot and before its answer comes back, so if the send `rate` places
 * back was answered a second or more before the slot, the two cannot share a second, and no
 * second holds more than `rate`. Shared by every dispatcher through Redis, on Redis's clock: the
 * slot is no later than the request's start, and the answer's time is taken after it is read,
 * so both err on the safe side.
 *
 * It is one gate with the slot schedule (SendPacer): a send that cannot have its place gets no
 * slot and goes back to the queue, where a reply still goes ahead of the feed. The spacing
 * leaves RATE_JITTER_MS of slack, so the window holds a send back only when answers take longer
 * than that; then it sets the pace, about rate × 1000 / (1000 + answer time) a second (96% of the
 * rate with 40 ms answers, 83% with 200 ms).
 */
export class SendWindow {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #limit: Record<Channel, number>;
  readonly #inflightMs: number;
  /**
   * This process's places not yet given back, by channel and the send's id (its job id, the
   * message's client_ref): job ids are counters per queue, so the same id is a different send on
   * each channel, and one channel's send must never give back another's place.
   */
  readonly #held = new Map<string, string>();
  /**
   * Places given back and not yet written, by channel: they go with the channel's next
   * reservation, or at the end of this event-loop turn (`flush`), a script per turn rather than
   * one per answer.
   */
  readonly #givenBack = new Map<Channel, string[]>();
  #flushing: NodeJS.Immediate | undefined;

  /** `requestTimeoutMs`: the client's timeout, after which a request without an answer is abandoned. */
  constructor(redis: RedisClient, keys: RedisKeys, rates: Record<Channel, number>, requestTimeoutMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#limit = Object.fromEntries(Object.entries(rates).map(([c, rate]) => [c, Math.max(1, Math.floor(rate))])) as Record<Channel, number>;
    // A dispatcher that dies mid-request leaves its place until the request would have timed out, and a second more.
    this.#inflightMs = requestTimeoutMs + 1000;
  }

  /**
   * Takes the channel's next slot with a place in its window for the send `sendId`, if the slot is
   * within `horizonMs`: answers how many ms until it comes (≥ 0), or, none taken, minus how long
   * to wait before asking again.
   */
  async reserve(channel: Channel, sendId: string, intervalMs: number, horizonMs: number, mark?: FeedMark): Promise<number> {
    const token = `${sendId}|${randomUUID()}`;
    const givenBack = this.#givenBack.get(channel) ?? [];
    this.#givenBack.delete(channel);
    const [taken, ms] = (await RESERVE.run(
      this.#redis,
      [this.#keys.sendPacing(channel), this.#keys.sendWindow(channel), ...(mark ? [mark.key] : [])],
      [intervalMs, horizonMs, this.#limit[channel], this.#inflightMs, token, mark ? mark.ttlMs : 0, ...givenBack],
    )) as [number, string];
    if (taken !== 1) return -Number(ms);
    // A send that let its slot go and took another gives the first place back.
    this.release(channel, sendId);
    this.#held.set(`${channel}:${sendId}`, token);
    return Number(ms);
  }

  /**
   * The send's answer (or failure) is back, or it will not go: its place counts from when Redis
   * hears of it (within this event-loop turn, or with the channel's next reservation, which comes
   * after it on the one connection) and frees a second later.
   */
  release(channel: Channel, sendId: string): void {
    const key = `${channel}:${sendId}`;
    const token = this.#held.get(key);
    if (token === undefined) return;
    this.#held.delete(key);
    const pending = this.#givenBack.get(channel);
    if (pending) pending.push(token);
    else this.#givenBack.set(channel, [token]);
    this.#flushing ??= setImmediate(() => void this.flush());
  }

  /**
   * Writes the places given back that no reservation has carried yet; resolves when Redis has
   * them. Not awaited by `release`: nothing waits for it. Lost, a place frees itself at its
   * in-flight bound: slower, never unsafe.
   */
  async flush(): Promise<void> {
    clearImmediate(this.#flushing);
    this.#flushing = undefined;
    const all = [...this.#givenBack];
    this.#givenBack.clear();
    await Promise.all(all.map(([channel, tokens]) => DONE.run(this.#redis, [this.#keys.sendWindow(channel)], tokens).catch(() => undefined)));
  }
}
