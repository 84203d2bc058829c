import type { ApiChannel } from './request-schema.ts';
import { API_CHANNELS } from './request-schema.ts';

/** A limit per channel, or `all` for the whole account (Vonage throttles per API key). */
export type LimitKey = ApiChannel | 'all';
export type RateLimits = Partial<Record<LimitKey, number>>;
export const LIMIT_KEYS: readonly LimitKey[] = [...API_CHANNELS, 'all'];

const WINDOW_MS = 1000;

/** A growable ring buffer of timestamps, oldest first: push at the tail, shift at the head, O(1). */
export class TimestampRing {
  #buf = new Float64Array(64);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The i-th oldest timestamp (0 is the oldest). */
  at(i: number): number {
    return this.#buf[(this.#head + i) & (this.#buf.length - 1)]!;
  }

  push(t: number): void {
    if (this.#size === this.#buf.length) {
      const bigger = new Float64Array(this.#buf.length * 2);
      for (let i = 0; i < this.#size; i++) bigger[i] = this.at(i);
      this.#buf = bigger;
      this.#head = 0;
    }
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = t;
    this.#size++;
  }

  /** Adds `t` where it belongs in the order (from the tail: a timestamp is rarely older than the newest). */
  insert(t: number): void {
    this.push(t);
    const mask = () => this.#buf.length - 1;
    let i = this.#size - 1;
    while (i > 0 && this.at(i - 1) > t) {
      this.#buf[(this.#head + i) & mask()] = this.at(i - 1);
      i--;
    }
    this.#buf[(this.#head + i) & mask()] = t;
  }

  shift(): void {
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }
}

/**
 * How long an accepted request's arrival is kept past its second: a request is counted by when it
 * arrived, but decided only once its body is read and its token checked (and after any injected
 * latency), so decisions come a little out of arrival order and must still see their neighbours.
 */
const KEEP_MS = 5000;

interface Lane {
  /** Arrival times of accepted requests, oldest first, back to KEEP_MS before the newest. */
  window: TimestampRing;
  limit: number;
  accepted: number;
  throttled: number;
  maxPerSecond: number;
}

export type Acquired = { ok: true } | { ok: false; retryAfterMs: number; scope: LimitKey };

export interface LaneStats {
  limit: number;
  accepted: number;
  throttled: number;
  /** The most requests accepted in any rolling 1000 ms. */
  maxPerSecond: number;
}

/**
 * Exact limits over ANY rolling second of arrival times, as a provider counts them at its door: a
 * request that arrived at `t` is accepted only if every 1000 ms window holding `t` still has room,
 * so no 1000 ms interval of arrivals ever holds more than `limit` accepted requests, whatever order
 * the requests are decided in. A limit of 0 means unlimited.
 */
export class RollingWindowLimiter {
  readonly #lanes = new Map<LimitKey, Lane>();

  constructor(limits: RateLimits = {}) {
    for (const key of LIMIT_KEYS) {
      this.#lanes.set(key, { window: new TimestampRing(), limit: 0, accepted: 0, throttled: 0, maxPerSecond: 0 });
    }
    this.setLimits(limits);
  }

  setLimits(limits: RateLimits): void {
    for (const [key, limit] of Object.entries(limits) as [LimitKey, number | undefined][]) {
      const lane = this.#lanes.get(key);
      if (lane) lane.limit = Math.max(0, Math.floor(limit ?? 0));
    }
  }

  limits(): Record<LimitKey, number> {
    return Object.fromEntries([...this.#lanes].map(([k, l]) => [k, l.limit])) as Record<LimitKey, number>;
  }

  /** Accepts (and records) a request on `channel` that arrived at `now`, or says how long until one would be accepted. */
  tryAcquire(channel: ApiChannel, now: number): Acquired {
    const lane = this.#lanes.get(channel)!;
    const all = this.#lanes.get('all')!;
    const waitChannel = wait(lane, now);
    const waitAll = wait(all, now);
    if (waitChannel > 0 || waitAll > 0) {
      lane.throttled++;
      if (waitAll > 0) all.throttled++;
      return waitAll > waitChannel ? { ok: false, retryAfterMs: waitAll, scope: 'all' } : { ok: false, retryAfterMs: waitChannel, scope: channel };
    }
    record(lane, now);
    record(all, now);
    return { ok: true };
  }

  /**
   * Counts a message the provider sends by itself (a failover's next leg): it arrives at no door,
   * so nothing can refuse it, but it uses the channel's rate like any other, and a request that
   * would share a second with it over the limit is throttled. One past the limit shows in
   * `maxPerSecond`.
   */
  count(channel: ApiChannel, now: number): void {
    for (const key of [channel, 'all'] as const) {
      const lane = this.#lanes.get(key)!;
      evict(lane, now);
      record(lane, now);
    }
  }

  stats(): Record<LimitKey, LaneStats> {
    return Object.fromEntries(
      [...this.#lanes].map(([k, { limit, accepted, throttled, maxPerSecond }]) => [k, { limit, accepted, throttled, maxPerSecond }]),
    ) as Record<LimitKey, LaneStats>;
  }

  /** Forgets the windows and the counters; keeps the limits. */
  reset(): void {
    for (const lane of this.#lanes.values()) {
      lane.window.clear();
      lane.accepted = lane.throttled = lane.maxPerSecond = 0;
    }
  }
}

function evict(lane: Lane, now: number): void {
  const w = lane.window;
  const newest = w.size > 0 ? Math.max(now, w.at(w.size - 1)) : now;
  // An unlimited lane only counts its busiest second: no decision needs its older arrivals.
  const keep = lane.limit === 0 ? WINDOW_MS : WINDOW_MS + KEEP_MS;
  while (w.size > 0 && w.at(0) <= newest - keep) w.shift();
}

/** The most accepted arrivals, `t` included, in any window [s, s + 1000) that holds `t`. */
function busiestWindowWith(lane: Lane, t: number): number {
  const w = lane.window;
  // Every such window starts at t or at an arrival in (t - 1000, t]; its count is what lies in [start, start + 1000).
  let lo = w.size;
  while (lo > 0 && w.at(lo - 1) > t - WINDOW_MS) lo--;
  let most = 0;
  let hi = lo;
  for (let i = lo; i <= w.size; i++) {
    const start = i < w.size && w.at(i) <= t ? w.at(i) : t;
    while (hi < w.size && w.at(hi) < start + WINDOW_MS) hi++;
    most = Math.max(most, hi - i + 1);
    if (start === t) break;
  }
  return most;
}

/** 0 when the lane has room at `now`, else the milliseconds until it will. */
function wait(lane: Lane, now: number): number {
  evict(lane, now);
  if (lane.limit === 0) return 0;
  const w = lane.window;
  if (busiestWindowWith(lane, now) <= lane.limit) return 0;
  // Room comes when enough of the oldest before `now` leave its second (more than one if the limit was lowered).
  let before = w.size;
  while (before > 0 && w.at(before - 1) > now) before--;
  const k = before - lane.limit;
  return k >= 0 ? Math.max(1, w.at(k) + WINDOW_MS - now) : 1;
}

function record(lane: Lane, now: number): void {
  lane.window.insert(now);
  lane.accepted++;
  // Unlimited, the window holds one second: its size is the count (to within arrivals decided out of order).
  const inSecond = lane.limit > 0 ? busiestWindowWith(lane, now) - 1 : lane.window.size;
  if (inSecond > lane.maxPerSecond) lane.maxPerSecond = inSecond;
}
