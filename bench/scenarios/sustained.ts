/**
 * Scenario 9 — sustained load at the channels' real limits: N subscribers (10k, 100k, 1M) seeded
 * straight into Redis, evenly over the four channels (SMS, WhatsApp, Messenger, Viber; WhatsApp
 * and Messenger with a recent inbound message, so free text is allowed), each following one to
 * three of 5 symbols; every channel limited to its default rate, in the dispatcher and in the
 * simulator (which answers 429 past it); one dispatcher; the bench ticks all 5 symbols every
 * second, as the ticker does (makeTick: the five prices written and announced in one script, a fan-out job per symbol).
 *
 * Per size: Redis CPU seconds per tick (INFO cpu of the bench's redis-server over the run ÷ ticks,
 * a tick being the 5 symbols), the dispatcher's CPU per tick (/proc), the deepest each queue got
 * (sampled every 250 ms), Redis used_memory per subscriber (after seeding, minus before), the
 * messages accepted per second per channel over the steady part of the run against the limit
 * and the simulator's 429s, and the age of the price in each accepted message: acceptance time
 * minus the time the bench wrote the newest price the message carries (each tick's prices are
 * unique: tick t adds t cents to the symbol's base price, so a price names its tick).
 * Redis is flushed between sizes.
 *
 * On a Redis Cluster (a BenchSystem with `cluster`), Redis' figures are summed over the primaries,
 * and each primary's CPU per tick and used_memory are kept too (`by_primary`), with the replicas'
 * CPU per tick (all of them together).
 */
import { loadavg } from 'node:os';
import { CHANNELS, loadConfig, makeTick, ratesFor, type Channel } from '@tickercast/shared';
import { watchCpu } from '../lib/cpu.ts';
import { seedSubscribers } from '../lib/load.ts';
import { sleep } from '../lib/procs.ts';
import { percentiles, round, type Percentiles } from '../lib/stats.ts';
import type { BenchSystem, LaneStats, PerNode } from '../lib/system.ts';

/** The symbols and the base price of each: tick t sets base + t cents. */
export const SUSTAINED_SYMBOLS: Readonly<Record<string, number>> = { MSFT: 412, GOOGL: 170, AAPL: 230, AMZN: 185, NVDA: 140 };
const SYMBOLS = Object.keys(SUSTAINED_SYMBOLS);
/** The channels' default rates (the configuration's defaults): what the dispatcher and the simulator both enforce. */
export const DEFAULT_RATES: Record<Channel, number> = ratesFor(loadConfig({}));
const MIX = CHANNELS.map((channel) => ({ channel, share: 1 / CHANNELS.length }));
const SAMPLE_MS = 250;

/** Subscriber i follows 1 to 3 consecutive symbols (i % 3 + 1), starting at a symbol that rotates with i. */
export function symbolsOf(i: number): string[] {
  const start = Math.floor(i / 3) % SYMBOLS.length;
  return Array.from({ length: (i % 3) + 1 }, (_, k) => SYMBOLS[(start + k) % SYMBOLS.length]!);
}

export interface SustainedOptions {
  sizes: number[];
  seconds: number;
  /** Seconds after the first tick before the accepted rates are counted (the queues fill first). */
  steadyAfterS: number;
}

export interface SustainedRun {
  subscribers: number;
  by_channel: Record<string, number>;
  tickers: number;
  seed_s: number;
  ticks: number;
  seconds: number;
  dispatchers: 1;
  redis_cpu_s_per_tick: number;
  dispatcher_cpu_s_per_tick: number;
  /** The deepest each queue was (waiting + prioritized + delayed + active) in any sample. */
  max_queue_depth: Record<string, number>;
  /** Every second: each queue's depth, so a queue that grows shows it. */
  depth_series: { t_s: number; depths: Record<string, number> }[];
  memory_bytes_per_subscriber: number;
  used_memory_empty: number;
  used_memory_seeded: number;
  /** Over the steady window: accepted per second, the limit, the fraction, and the 429s over the whole run. */
  channels: Record<Channel, { limit: number; accepted_per_s: number; fraction: number; throttled: number; max_per_rolling_second: number }>;
  steady_window_s: number;
  accepted: number;
  price_age_ms: Percentiles;
  unmatched: number;
  /**
   * Where Redis' time went over the run, the 8 costliest commands by INFO commandstats: time
   * spent inside each command (so on a busy machine also the time Redis was preempted in it),
   * scripts all as evalsha, and the commands a script runs counted in the script too.
   */
  redis_top_commands: { name: string; calls: number; ms: number; us_per_call: number }[];
  /** CPU of every process over the run, and what else the machine did meanwhile. */
  cpu: ReturnType<ReturnType<typeof watchCpu>['stop']>;
  loadavg: { before: number[]; after: number[] };
  /** On a cluster: each primary's Redis CPU per tick and used_memory (empty, seeded), by `host:port`. */
  by_primary?: Record<string, { slots: [number, number][]; redis_cpu_s_per_tick: number; used_memory_empty: number; used_memory_seeded: number }>;
  /** On a cluster: the replicas' CPU per tick, all together (they apply their primary's writes). */
  replicas_cpu_s_per_tick?: number;
}

async function oneSize(sys: BenchSystem, n: number, opts: SustainedOptions): Promise<SustainedRun> {
  await sys.reset();
  await sys.simLimits(DEFAULT_RATES);
  // One dispatcher, at the configuration's default rates.
  await sys.startDispatchers();
  try {
    await sleep(500);
    const memEmpty = await sys.usedMemoryByNode();
    const usedEmpty = total(memEmpty);
    const seedStart = performance.now();
    const { byChannel } = await seedSubscribers(sys, { symbol: SYMBOLS[0]!, symbolsOf, n, series: 30, mix: MIX });
    const seed_s = (performance.now() - seedStart) / 1000;
    const memSeeded = await sys.usedMemoryByNode();
    const usedSeeded = total(memSeeded);
    let tickers = 0;
    for (let i = 0; i < n; i++) tickers += (i % 3) + 1;
    console.log(`  ${n} subscribers (${tickers} tickers) seeded in ${seed_s.toFixed(1)} s: used_memory ${((usedSeeded - usedEmpty) / n).toFixed(0)} B per subscriber`);

    const load0 = loadavg();
    await sys.resetStats();
    const [redis0, replicas0] = await Promise.all([sys.redisCpuByNode(), sys.redisCpuByNode('slave')]);
    const cpu = watchCpu(sys.pids());
    const stats0 = await sys.simStats();
    const start = Date.now();

    // The queues, every 250 ms, until the ticks end.
    const maxDepth: Record<string, number> = {};
    const series: SustainedRun['depth_series'] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let k = 0; sampling; k++) {
        const depths = await sys.queueDepths();
        for (const [q, d] of Object.entries(depths)) maxDepth[q] = Math.max(maxDepth[q] ?? 0, d);
        if (k % (1000 / SAMPLE_MS) === 0) series.push({ t_s: round((Date.now() - start) / 1000, 1), depths });
        await sleep(SAMPLE_MS);
      }
    })();

    // The ticks: all 5 symbols each second, each price unique to its tick.
    const tickedAt = new Map<string, number>();
    let steady: { at: number; stats: Awaited<ReturnType<BenchSystem['simStats']>> } | undefined;
    for (let t = 1; t <= opts.seconds; t++) {
      const due = start + (t - 1) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      if (t === opts.steadyAfterS + 1) steady = { at: performance.now(), stats: await sys.simStats() };
      const at = Date.now();
      const quotes = await makeTick(sys, SYMBOLS.map((s) => ({ symbol: s, price: SUSTAINED_SYMBOLS[s]! + t / 100 })), at);
      for (const q of quotes) tickedAt.set(`${q.symbol} ${q.price.toFixed(2)}`, at);
    }
    const end = start + opts.seconds * 1000;
    if (end > Date.now()) await sleep(end - Date.now());
    const stats1 = await sys.simStats();
    const steadyS = (performance.now() - steady!.at) / 1000;
    const [redis1, replicas1] = await Promise.all([sys.redisCpuByNode(), sys.redisCpuByNode('slave')]);
    const usage = cpu.stop();
    const commands = await sys.commandStats();
    sampling = false;
    await sampler;
    const load1 = loadavg();

    // The age of the newest price each accepted message carries.
    const { messages } = await sys.simMessages({ since: start, limit: 100_000 });
    const ages: number[] = [];
    let unmatched = 0;
    for (const m of messages) {
      const acceptedAt = Date.parse(m.acceptedAt);
      if (acceptedAt > end) continue;
      let newest = 0;
      for (const [, symbol, price] of m.display.matchAll(/\b([A-Z]+) (\d+\.\d\d)\b/g)) newest = Math.max(newest, tickedAt.get(`${symbol} ${price}`) ?? 0);
      if (newest === 0) unmatched++;
      else ages.push(acceptedAt - newest);
    }

    const lane = (st: typeof stats0, c: Channel): LaneStats => st.channels[c];
    const channels = Object.fromEntries(
      CHANNELS.map((c) => {
        const perS = (lane(stats1, c).accepted - lane(steady!.stats, c).accepted) / steadyS;
        return [
          c,
          {
            limit: DEFAULT_RATES[c],
            accepted_per_s: round(perS),
            fraction: round(perS / DEFAULT_RATES[c], 3),
            throttled: lane(stats1, c).throttled - lane(stats0, c).throttled,
            max_per_rolling_second: lane(stats1, c).maxPerSecond,
          },
        ];
      }),
    ) as SustainedRun['channels'];

    const ticks = opts.seconds;
    const run: SustainedRun = {
      subscribers: n,
      by_channel: byChannel,
      tickers,
      seed_s: round(seed_s, 1),
      ticks,
      seconds: opts.seconds,
      dispatchers: 1,
      redis_cpu_s_per_tick: round((total(redis1) - total(redis0)) / ticks, 4),
      dispatcher_cpu_s_per_tick: round((usage.cpu_s['dispatcher-1'] ?? NaN) / ticks, 4),
      max_queue_depth: maxDepth,
      depth_series: series,
      memory_bytes_per_subscriber: round((usedSeeded - usedEmpty) / n, 1),
      used_memory_empty: usedEmpty,
      used_memory_seeded: usedSeeded,
      channels,
      steady_window_s: round(steadyS, 1),
      accepted: stats1.channels.all.accepted - stats0.channels.all.accepted,
      price_age_ms: percentiles(ages),
      unmatched,
      redis_top_commands: Object.entries(commands)
        .sort(([, a], [, b]) => b.usec - a.usec)
        .slice(0, 8)
        .map(([name, c]) => ({ name, calls: c.calls, ms: round(c.usec / 1000, 1), us_per_call: round(c.usec / Math.max(1, c.calls), 1) })),
      cpu: usage,
      loadavg: { before: load0.map((v) => round(v)), after: load1.map((v) => round(v)) },
    };
    if (sys.clustered) {
      const slots = await sys.primarySlots();
      run.by_primary = Object.fromEntries(
        Object.keys(redis1).map((node) => [
          node,
          {
            slots: slots[node] ?? [],
            redis_cpu_s_per_tick: round((redis1[node]! - (redis0[node] ?? NaN)) / ticks, 4),
            used_memory_empty: memEmpty[node] ?? NaN,
            used_memory_seeded: memSeeded[node] ?? NaN,
          },
        ]),
      );
      run.replicas_cpu_s_per_tick = round((total(replicas1) - total(replicas0)) / ticks, 4);
    }
    const perPrimary = run.by_primary
      ? ` (per primary ${Object.values(run.by_primary).map((p) => p.redis_cpu_s_per_tick).join(' / ')}; replicas ${run.replicas_cpu_s_per_tick})`
      : '';
    const others = usage.others_s === undefined ? '' : `; other work on the machine ${(usage.others_s / usage.wall_s).toFixed(2)} of a core, loadavg ${run.loadavg.after[0]}`;
    console.log(
      `  sustained ${n}: Redis ${run.redis_cpu_s_per_tick} CPU s/tick${perPrimary}, dispatcher ${run.dispatcher_cpu_s_per_tick} CPU s/tick; max depth ${JSON.stringify(maxDepth)}; ` +
        `accepted/s ${CHANNELS.map((c) => `${c} ${channels[c].accepted_per_s}/${channels[c].limit} (429: ${channels[c].throttled})`).join(', ')}; ` +
        `price age p50 ${run.price_age_ms.p50} / p99 ${run.price_age_ms.p99} / max ${run.price_age_ms.max} ms (${ages.length} msgs, ${unmatched} unmatched)${others}`,
    );
    return run;
  } finally {
    await sys.stopDispatchers();
  }
}

export async function runSustained(sys: BenchSystem, opts: SustainedOptions): Promise<SustainedRun[]> {
  const runs: SustainedRun[] = [];
  try {
    for (const n of opts.sizes) runs.push(await oneSize(sys, n, opts));
  } finally {
    // A million subscribers are a gigabyte: not for the scenarios after this one.
    await sys.flushAll().catch(() => undefined);
  }
  return runs;
}

/** Per size: whether every queue stayed within 3 s of its channel's rate (send queues; plus the replies pending, none here), the tick queue within 3 s of ticks. */
export function queuesWithin(run: SustainedRun, symbols = SYMBOLS.length): { ok: boolean; limits: Record<string, number> } {
  const limits: Record<string, number> = {};
  for (const c of CHANNELS) limits[`send-${c}`] = 3 * DEFAULT_RATES[c] + (run.max_queue_depth.inbound ?? 0);
  limits.fanout = 3 * symbols;
  limits.inbound = 0;
  limits.status = 0;
  const ok = Object.entries(run.max_queue_depth).every(([q, d]) => d <= (limits[q] ?? Infinity));
  return { ok, limits };
}

function total(perNode: PerNode): number {
  return Object.values(perNode).reduce((a, b) => a + b, 0);
}
