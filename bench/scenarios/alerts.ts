/**
 * Scenario 10 — what holding price alerts costs a tick (issue 16): the same ticks with 0 and with
 * 100,000 alerts held.
 *
 * Per size: Redis flushed; a plain feed of `subscribers` (sustained's mix: the four channels
 * evenly, one to three of 5 symbols each; 60, so that every one is served at every tick within each
 * channel's default rate and the two runs send the same: a saturated feed sends what a busy
 * machine lets it, which would be measured instead) and N alerts (AlertStore's layout: a record field and
 * its triggers; a third each a move, a price above, a price below, 5% to 50% from the price) seeded
 * straight into Redis; every channel at its default rate, in the dispatcher and in the simulator;
 * one dispatcher; the bench ticks all 5 symbols every second for `seconds`, each price within 1% of
 * where the alerts were set, so none fires (what is measured is holding them, not sending them).
 *
 * Figures: Redis CPU seconds per tick (INFO cpu of the bench's redis-server over the run ÷ ticks),
 * the dispatcher's CPU per tick, used_memory per alert held, the alerts that fired (0 expected),
 * and, with the dispatcher stopped, the alert check alone: `AlertStore.check` of every channel
 * (what the refills of one tick run) `checkRounds` times from the bench process, prices stepping
 * up and down within the same 1%, Redis CPU per round and the time inside the check's scripts per
 * round (INFO commandstats: without Redis' background work, such as the incremental rehashing of
 * the keyspace that 100,000 new records start). A tick's check reads two ranges per symbol
 * and partition whatever the number held, so both figures should be about the same at 0 and at
 * 100,000.
 */
import { AlertStore, CHANNELS, DUE_PARTITIONS } from '@tickercast/shared';
import { watchCpu } from '../lib/cpu.ts';
import { seedAlerts, seedSubscribers, tick } from '../lib/load.ts';
import { sleep } from '../lib/procs.ts';
import { round } from '../lib/stats.ts';
import type { BenchSystem } from '../lib/system.ts';
import { DEFAULT_RATES, SUSTAINED_SYMBOLS, symbolsOf } from './sustained.ts';

const SYMBOLS = Object.keys(SUSTAINED_SYMBOLS);
const MIX = CHANNELS.map((channel) => ({ channel, share: 1 / CHANNELS.length }));
/** How far from the price the nearest alert is: the ticks move less than this. */
const AWAY_PCT = 5;

export interface AlertsOptions {
  /** Alerts held, one run each (0 and 100,000). */
  sizes: number[];
  /** The plain feed beside them. */
  subscribers: number;
  seconds: number;
  /** Rounds of the alert check alone, with the dispatcher stopped. */
  checkRounds: number;
}

export interface AlertsRun {
  alerts: number;
  subscribers: number;
  seed_s: number;
  ticks: number;
  redis_cpu_s_per_tick: number;
  dispatcher_cpu_s_per_tick: number;
  /** used_memory growth over seeding the alerts, per alert (none: null). */
  memory_bytes_per_alert: number | null;
  /** Alerts that fired over the run (their subscribers in the alerts-due sets, or their records marked): 0 expected. */
  fired: number;
  /** The feed's messages accepted over the run. */
  accepted: number;
  /** AlertStore.check of every channel, from the bench, with no dispatcher: Redis CPU µs per round (one tick's checks), Redis' background work included. */
  check_redis_us_per_round: number;
  /** The same rounds: µs inside the check scripts per round (INFO commandstats, evalsha): the check's own cost, without Redis' background work. */
  check_script_us_per_round: number;
  check_rounds: number;
  redis_top_commands: { name: string; calls: number; ms: number; us_per_call: number }[];
  cpu: ReturnType<ReturnType<typeof watchCpu>['stop']>;
}

async function oneSize(sys: BenchSystem, n: number, opts: AlertsOptions): Promise<AlertsRun> {
  await sys.reset();
  await sys.simLimits(DEFAULT_RATES);
  // The prices the alerts are set around, before anyone is seeded: the check's first range starts there.
  await Promise.all(SYMBOLS.map((s) => sys.prices.set(s, SUSTAINED_SYMBOLS[s]!)));
  await seedSubscribers(sys, { symbol: SYMBOLS[0]!, symbolsOf, n: opts.subscribers, series: 31, mix: MIX });
  const mem0 = await sys.usedMemory();
  const seedStart = performance.now();
  if (n > 0) await seedAlerts(sys, { n, series: 32, prices: SUSTAINED_SYMBOLS, awayPct: AWAY_PCT, mix: MIX });
  const seed_s = (performance.now() - seedStart) / 1000;
  const mem1 = await sys.usedMemory();
  if (n > 0) console.log(`  ${n} alerts seeded in ${seed_s.toFixed(1)} s: used_memory ${((mem1 - mem0) / n).toFixed(0)} B per alert`);

  await sys.startDispatchers();
  let run: Omit<AlertsRun, 'check_redis_us_per_round' | 'check_script_us_per_round' | 'check_rounds' | 'fired'>;
  try {
    await sleep(500);
    await sys.resetStats();
    const redis0 = await sys.redisCpuSeconds();
    const cpu = watchCpu(sys.pids());
    const stats0 = await sys.simStats();
    const start = Date.now();
    // All 5 symbols each second; tick t moves each price by t cents (at most 1% over the run).
    for (let t = 1; t <= opts.seconds; t++) {
      const due = start + (t - 1) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const sign = t % 2 === 0 ? -1 : 1;
      await Promise.all(SYMBOLS.map((s) => tick(sys, s, SUSTAINED_SYMBOLS[s]! * (1 + (sign * Math.min(t, 10)) / 1000))));
    }
    const end = start + opts.seconds * 1000;
    if (end > Date.now()) await sleep(end - Date.now());
    const redis1 = await sys.redisCpuSeconds();
    const usage = cpu.stop();
    const stats1 = await sys.simStats();
    const commands = await sys.commandStats();
    run = {
      alerts: n,
      subscribers: opts.subscribers,
      seed_s: round(seed_s, 1),
      ticks: opts.seconds,
      redis_cpu_s_per_tick: round((redis1 - redis0) / opts.seconds, 5),
      dispatcher_cpu_s_per_tick: round((usage.cpu_s['dispatcher-1'] ?? NaN) / opts.seconds, 5),
      memory_bytes_per_alert: n > 0 ? round((mem1 - mem0) / n, 1) : null,
      accepted: stats1.channels.all.accepted - stats0.channels.all.accepted,
      redis_top_commands: Object.entries(commands)
        .sort(([, a], [, b]) => b.usec - a.usec)
        .slice(0, 8)
        .map(([name, c]) => ({ name, calls: c.calls, ms: round(c.usec / 1000, 1), us_per_call: round(c.usec / Math.max(1, c.calls), 1) })),
      cpu: usage,
    };
  } finally {
    await sys.stopDispatchers();
  }

  // What fired: their subscribers wait in the alerts-due sets (the feed send would have taken them out and marked the record).
  let fired = 0;
  for (const c of CHANNELS) for (let p = 0; p < DUE_PARTITIONS; p++) fired += await sys.redis.zcard(sys.keys.alertsDue(c, p));
  const sent = (await sys.simMessages({ limit: 100_000 })).messages.filter((m) => / since your last| crossed /.test(m.display)).length;
  fired += sent;

  // The check alone: one tick's worth (every channel) per round, prices stepping within the same 1%.
  const alerts = new AlertStore(sys.redis, sys.keys);
  await sys.resetStats();
  const before = await sys.redisCpuSeconds();
  for (let r = 0; r < opts.checkRounds; r++) {
    const step = (r % 10) - 5;
    const prices = new Map(SYMBOLS.map((s) => [s, SUSTAINED_SYMBOLS[s]! * (1 + step / 1000)]));
    await Promise.all(CHANNELS.map((c) => alerts.check(c, prices)));
  }
  const after = await sys.redisCpuSeconds();
  const scripts = (await sys.commandStats()).evalsha?.usec ?? NaN;
  for (const c of CHANNELS) for (let p = 0; p < DUE_PARTITIONS; p++) fired += await sys.redis.zcard(sys.keys.alertsDue(c, p));

  const out: AlertsRun = { ...run, fired, check_redis_us_per_round: round(((after - before) * 1e6) / opts.checkRounds, 1), check_script_us_per_round: round(scripts / opts.checkRounds, 1), check_rounds: opts.checkRounds };
  console.log(
    `  alerts ${n}: Redis ${out.redis_cpu_s_per_tick} CPU s/tick, dispatcher ${out.dispatcher_cpu_s_per_tick} CPU s/tick, ${out.accepted} feed messages, ${fired} fired; ` +
      `the check alone ${out.check_redis_us_per_round} µs of Redis CPU per tick, ${out.check_script_us_per_round} µs in its scripts (${opts.checkRounds} rounds)`,
  );
  return out;
}

export async function runAlerts(sys: BenchSystem, opts: AlertsOptions): Promise<AlertsRun[]> {
  const runs: AlertsRun[] = [];
  try {
    for (const n of opts.sizes) runs.push(await oneSize(sys, n, opts));
  } finally {
    await sys.flushAll().catch(() => undefined);
  }
  return runs;
}
