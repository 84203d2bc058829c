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

  shift(): void {
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }
}

interface Lane {
  /** Accepted timestamps in the rolling window (now - 1000 ms, now]. */
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
 * Exact limits over ANY rolling second: a request is accepted only if fewer than `limit` requests
 * were accepted in the 1000 ms before it (the window (t - 1000, t]), so no 1000 ms interval ever
 * holds more than `limit` accepted requests. A limit of 0 means unlimited.
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

  /** Accepts (and records) a request on `channel` at `now`, or says how long until one would be accepted. */
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
  while (w.size > 0 && w.at(0) <= now - WINDOW_MS) w.shift();
}

/** 0 when the lane has room at `now`, else the milliseconds until it will. */
function wait(lane: Lane, now: number): number {
  evict(lane, now);
  if (lane.limit === 0 || lane.window.size < lane.limit) return 0;
  // Room comes when enough of the oldest leave the window (more than one if the limit was lowered).
  return lane.window.at(lane.window.size - lane.limit) + WINDOW_MS - now;
}

function record(lane: Lane, now: number): void {
  lane.window.push(now);
  lane.accepted++;
  if (lane.window.size > lane.maxPerSecond) lane.maxPerSecond = lane.window.size;
}
