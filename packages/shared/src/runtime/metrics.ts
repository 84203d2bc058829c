import type { RedisClient } from './redis.ts';
import type { RedisKeys } from '../keys.ts';

/*
 * Metrics of the worker processes, kept in Redis so that one scrape of the ingress's /metrics
 * sees every dispatcher replica (they have no HTTP port of their own, and may come and go).
 * Each process adds to local tallies on the hot path and flushes them once a second in one
 * pipeline, so a send costs no extra round trip.
 */

export type Labels = Record<string, string>;

/** What each metric the workers record means, for the HELP lines of /metrics. */
export const WORKER_METRIC_HELP: Record<string, string> = {
  tickercast_queue_wait_ms: 'Time a job waited in its queue before a worker took it (ms)',
  tickercast_send_latency_ms: 'From the tick to the provider accepting the price message (ms)',
  tickercast_send_jobs_total: 'Send jobs finished, by channel, kind (price or reply) and outcome (sent or skipped)',
  tickercast_job_retries_total: 'Job attempts that failed and will be retried, by queue',
  tickercast_job_failures_total: 'Jobs failed for good, by queue and reason',
  tickercast_provider_responses_total: 'Answers from the Messages API by channel and HTTP status (429 = throttled)',
  tickercast_provider_request_ms: 'Duration of requests to the Messages API (ms)',
  tickercast_failovers_total: "Messages the provider sent on the fallback channel after the subscriber's own channel could not deliver, by channel pair (from, to)",
  tickercast_last_price_sent_timestamp_seconds: 'When the provider last accepted a price message, by channel (Unix time, s)',
};

/**
 * What counters grew by recently is kept in slices of this length (a hash per slice, with a TTL):
 * "in the last minute" on the dashboard is the sum of the slices that cover it, right from the
 * moment the page opens, whichever ingress serves it.
 */
export const RECENT_SLICE_MS = 5000;
/** A slice outlives the minute it is read for, then goes by itself. */
const RECENT_TTL_MS = 90_000;

/** Milliseconds: from a few ms to a minute, enough to alert on. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export class MetricsRecorder {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  #counters = new Map<string, number>();
  /** Per `name|labels`: the count of each bucket of LATENCY_BUCKETS_MS, then +Inf, then the sum. */
  #histograms = new Map<string, number[]>();
  #latest = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(redis: RedisClient, keys: RedisKeys, flushEveryMs = 1000) {
    this.#redis = redis;
    this.#keys = keys;
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), flushEveryMs);
    this.#timer.unref();
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const key = `${name}|${labelKey(labels)}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  observe(name: string, labels: Labels, valueMs: number): void {
    const base = `${name}|${labelKey(labels)}`;
    let h = this.#histograms.get(base);
    if (!h) this.#histograms.set(base, (h = new Array<number>(LATENCY_BUCKETS_MS.length + 2).fill(0)));
    const n = LATENCY_BUCKETS_MS.length;
    for (let i = n - 1; i >= 0 && valueMs <= LATENCY_BUCKETS_MS[i]!; i--) h[i]!++;
    h[n]!++;
    h[n + 1]! += valueMs;
  }

  /** A gauge that keeps the greatest value any process recorded (a time: when something last happened). */
  latest(name: string, labels: Labels, value: number): void {
    const key = `${name}|${labelKey(labels)}`;
    if (!(value <= (this.#latest.get(key) ?? -Infinity))) this.#latest.set(key, value);
  }

  /** Writes the local tallies to Redis and starts new ones. */
  async flush(now = Date.now()): Promise<void> {
    if (this.#counters.size === 0 && this.#histograms.size === 0 && this.#latest.size === 0) return;
    const counters = this.#counters;
    const histograms = this.#histograms;
    const latest = this.#latest;
    this.#counters = new Map();
    this.#histograms = new Map();
    this.#latest = new Map();
    const p = this.#redis.pipeline();
    for (const [k, v] of counters) p.hincrbyfloat(this.#keys.metricsCounters, k, v);
    if (counters.size > 0) {
      const recent = this.#keys.metricsRecent(Math.floor(now / RECENT_SLICE_MS));
      for (const [k, v] of counters) p.hincrbyfloat(recent, k, v);
      p.pexpire(recent, RECENT_TTL_MS);
    }
    // GT: another dispatcher's newer time is never overwritten by an older one flushed after it.
    for (const [k, v] of latest) p.zadd(this.#keys.metricsLatest, 'GT', v, k);
    for (const [base, h] of histograms) {
      h.forEach((v, i) => {
        const field = i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i] : i === LATENCY_BUCKETS_MS.length ? '+Inf' : 'sum';
        if (v !== 0) p.hincrbyfloat(this.#keys.metricsHistograms, `${base}|${field}`, v);
      });
    }
    await p.exec();
  }

  /** Stops the timer after a last flush. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

export interface MetricsSnapshot {
  counters: { name: string; labels: Labels; value: number }[];
  gauges: { name: string; labels: Labels; value: number }[];
  histograms: { name: string; labels: Labels; buckets: { le: string; count: number }[]; sum: number; count: number }[];
}

function parseLabels(s: string): Labels {
  return Object.fromEntries(s.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
}

/** Everything every process has recorded, for the /metrics endpoint. */
export async function readMetrics(redis: RedisClient, keys: RedisKeys): Promise<MetricsSnapshot> {
  const [counters, histograms, latest] = await Promise.all([
    redis.hgetall(keys.metricsCounters),
    redis.hgetall(keys.metricsHistograms),
    redis.zrange(keys.metricsLatest, '0', '-1', 'WITHSCORES'),
  ]);
  const hs = new Map<string, MetricsSnapshot['histograms'][number]>();
  for (const [k, v] of Object.entries(histograms)) {
    const [name, labels, le] = k.split('|') as [string, string, string];
    const id = `${name}|${labels}`;
    let h = hs.get(id);
    if (!h) hs.set(id, (h = { name, labels: parseLabels(labels), buckets: [], sum: 0, count: 0 }));
    if (le === 'sum') h.sum = Number(v);
    else {
      h.buckets.push({ le, count: Number(v) });
      if (le === '+Inf') h.count = Number(v);
    }
  }
  for (const h of hs.values()) h.buckets.sort((a, b) => (a.le === '+Inf' ? 1 : b.le === '+Inf' ? -1 : Number(a.le) - Number(b.le)));
  return {
    counters: Object.entries(counters).map(([k, v]) => {
      const [name, labels] = k.split('|') as [string, string];
      return { name, labels: parseLabels(labels), value: Number(v) };
    }),
    histograms: [...hs.values()],
    gauges: parseLatest(latest),
  };
}

function parseLatest(withScores: string[]): MetricsSnapshot['gauges'] {
  const gauges: MetricsSnapshot['gauges'] = [];
  for (let i = 0; i + 1 < withScores.length; i += 2) {
    const [name, labels] = withScores[i]!.split('|') as [string, string];
    gauges.push({ name, labels: parseLabels(labels), value: Number(withScores[i + 1]) });
  }
  return gauges;
}

/** The greatest values recorded through `MetricsRecorder.latest`, by every process. */
export async function readLatest(redis: RedisClient, keys: RedisKeys): Promise<MetricsSnapshot['gauges']> {
  return parseLatest(await redis.zrange(keys.metricsLatest, '0', '-1', 'WITHSCORES'));
}

/**
 * What every counter grew by over at least the last `windowMs` (and at most one slice more), summed
 * over every process: one pipeline of a hash per slice.
 */
export async function readRecentCounters(redis: RedisClient, keys: RedisKeys, windowMs = 60_000, now = Date.now()): Promise<MetricsSnapshot['counters']> {
  const current = Math.floor(now / RECENT_SLICE_MS);
  const p = redis.pipeline();
  for (let slice = current - Math.ceil(windowMs / RECENT_SLICE_MS); slice <= current; slice++) p.hgetall(keys.metricsRecent(slice));
  const sums = new Map<string, number>();
  for (const [err, hash] of (await p.exec()) ?? []) {
    if (err) throw err;
    for (const [k, v] of Object.entries(hash as Record<string, string>)) sums.set(k, (sums.get(k) ?? 0) + Number(v));
  }
  return [...sums].map(([k, value]) => {
    const [name, labels] = k.split('|') as [string, string];
    return { name, labels: parseLabels(labels), value };
  });
}

/** Prometheus text exposition of a snapshot (bucket counts are cumulative already). */
export function metricsToPrometheus(snapshot: MetricsSnapshot, help: Record<string, string> = {}): string {
  const fmt = (labels: Labels, extra: Labels = {}) => {
    const all = { ...labels, ...extra };
    const parts = Object.keys(all).map((k) => `${k}="${String(all[k]).replace(/["\\\n]/g, '_')}"`);
    return parts.length > 0 ? `{${parts.join(',')}}` : '';
  };
  const lines: string[] = [];
  const seen = new Set<string>();
  const header = (name: string, type: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    if (help[name]) lines.push(`# HELP ${name} ${help[name]}`);
    lines.push(`# TYPE ${name} ${type}`);
  };
  for (const c of [...snapshot.counters].sort((a, b) => a.name.localeCompare(b.name))) {
    header(c.name, 'counter');
    lines.push(`${c.name}${fmt(c.labels)} ${c.value}`);
  }
  for (const g of [...snapshot.gauges].sort((a, b) => a.name.localeCompare(b.name))) {
    header(g.name, 'gauge');
    lines.push(`${g.name}${fmt(g.labels)} ${g.value}`);
  }
  for (const h of [...snapshot.histograms].sort((a, b) => a.name.localeCompare(b.name))) {
    header(h.name, 'histogram');
    for (const b of h.buckets) lines.push(`${h.name}_bucket${fmt(h.labels, { le: b.le })} ${b.count}`);
    lines.push(`${h.name}_sum${fmt(h.labels)} ${h.sum}`);
    lines.push(`${h.name}_count${fmt(h.labels)} ${h.count}`);
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}
