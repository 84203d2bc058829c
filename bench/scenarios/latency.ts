/**
 * Scenario 2 — latency: steady ticks (5 a second) to 1k subscribers; for every message the
 * simulator accepted, tick-to-acceptance = its acceptedAt minus the bench's time of the tick whose
 * price it carries (each tick's price is unique, so the text names the tick). A send reads the
 * latest price when it runs, so a message that waited past the next tick carries (and is timed
 * from) that newer tick. Percentiles from an HDR histogram.
 *
 * First the same with 10 subscribers: the pipeline's own latency (tick → fan-out → send →
 * provider) when no queue forms, the floor under the figure at 1k.
 */
import { seedSubscribers, tick, tickLoop } from '../lib/load.ts';
import { waitFor } from '../lib/procs.ts';
import { watchCpu } from '../lib/cpu.ts';
import { percentiles, round } from '../lib/stats.ts';
import type { BenchSystem } from '../lib/system.ts';
import { MAX_RATE_ENV } from './fanout.ts';

async function steadyTicks(sys: BenchSystem, opts: { symbol: string; subscribers: number; ticksPerSecond: number; seconds: number; series: number; warmUp: boolean }) {
  const { symbol, subscribers } = opts;
  await seedSubscribers(sys, { symbol, n: subscribers, series: opts.series });
  if (opts.warmUp) {
    // Warm-up tick (JIT, connections, the JWT), fully delivered before the measured ones.
    const acceptedBefore = (await sys.simStats()).channels.all.accepted;
    await tick(sys, symbol, 99);
    await waitFor('warm-up delivered', async () => (await sys.simStats()).channels.all.accepted - acceptedBefore >= subscribers, 60_000, 50);
  }

  // What the ticks cost, beside how long they took: CPU per process and Redis commands, per tick
  // (a difference of CPU per send shows here with less noise than in the latencies).
  await sys.resetStats();
  const cpu = watchCpu(sys.pids());
  const start = Date.now();
  const loop = tickLoop(sys, {
    symbol,
    intervalMs: 1000 / opts.ticksPerSecond,
    maxTicks: Math.round(opts.seconds * opts.ticksPerSecond),
    maxMs: opts.seconds * 1000 + 2000,
    priceOf: (i) => 100 + i,
  });
  await loop.done;
  // Every subscriber gets the last tick's price (it is the final one); the queues being empty is
  // not enough: the tick's announcement may still be on its way to a refill that adds its sends.
  const last = loop.ticks[loop.ticks.length - 1];
  const lastText = last ? `${symbol} ${last.price.toFixed(2)}` : undefined;
  const lastDelivered = async () =>
    !last || (await sys.simMessages({ since: last.tickedAt, limit: subscribers * 4 })).messages.filter((m) => m.display.includes(lastText!)).length >= subscribers;
  await waitFor('the last tick delivered', async () => (await sys.drained()) && (await lastDelivered()), 60_000, 100);
  const drained_s = (Date.now() - start) / 1000;
  const usage = cpu.stop();
  const stats = await sys.commandStats();
  const commands = Object.values(stats).reduce((a, c) => ({ calls: a.calls + c.calls, usec: a.usec + c.usec }), { calls: 0, usec: 0 });
  const ticks = Math.max(1, loop.ticks.length);
  const perTick = {
    cpu_ms: Object.fromEntries(Object.entries(usage.cpu_s).map(([name, s]) => [name, round((s * 1000) / ticks, 2)])),
    redis_calls: round(commands.calls / ticks, 1),
    redis_usec: round(commands.usec / ticks, 0),
    /** The commands (scripts' own calls included) that took the most of Redis' time: calls and µs per tick. */
    redis_top: Object.fromEntries(
      Object.entries(stats)
        .sort(([, a], [, b]) => b.usec - a.usec)
        .slice(0, 12)
        .map(([name, c]) => [name, { calls: round(c.calls / ticks, 1), usec: round(c.usec / ticks, 0) }]),
    ),
  };

  const tickAt = new Map(loop.ticks.map((t) => [t.price.toFixed(2), t.tickedAt]));
  const { messages } = await sys.simMessages({ since: start, limit: 100_000 });
  const pattern = new RegExp(`\\b${symbol} (\\d+\\.\\d\\d)`);
  const latencies: number[] = [];
  let unmatched = 0;
  for (const m of messages) {
    const price = pattern.exec(m.display)?.[1];
    const at = price === undefined ? undefined : tickAt.get(price);
    if (at === undefined) unmatched++;
    else latencies.push(Date.parse(m.acceptedAt) - at);
  }
  const offered = loop.ticks.length * subscribers;
  return {
    subscribers,
    ticks: loop.ticks.length,
    ticks_per_s: opts.ticksPerSecond,
    messages: latencies.length,
    unmatched,
    /** Share of (tick, subscriber) updates folded into a later one because that subscriber's send had not run yet. */
    conflated_share: round(1 - latencies.length / offered, 3),
    drained_s: round(drained_s),
    /** Per tick, over the ticks and their drain: CPU ms of each process, and the commands Redis ran (with their µs). */
    per_tick: perTick,
    ...percentiles(latencies),
  };
}

export async function runLatency(sys: BenchSystem, opts: { subscribers: number; ticksPerSecond: number; seconds: number; floorSeconds: number }) {
  await sys.reset();
  await sys.startDispatchers({ env: MAX_RATE_ENV });
  try {
    const floor = await steadyTicks(sys, { symbol: 'LATF', subscribers: 10, ticksPerSecond: opts.ticksPerSecond, seconds: opts.floorSeconds, series: 21, warmUp: true });
    console.log(`  latency, 10 subscribers: mean ${floor.mean} ms, p50 ${floor.p50} ms, p95 ${floor.p95} ms, p99 ${floor.p99} ms, max ${floor.max} ms (${floor.messages} msgs)`);
    console.log(`  per tick at 10: CPU ms ${Object.entries(floor.per_tick.cpu_ms).map(([n, v]) => `${n} ${v}`).join(', ')}; Redis ${floor.per_tick.redis_calls} commands, ${floor.per_tick.redis_usec} µs`);
    const main = await steadyTicks(sys, { symbol: 'LAT', subscribers: opts.subscribers, ticksPerSecond: opts.ticksPerSecond, seconds: opts.seconds, series: 20, warmUp: false });
    console.log(
      `  latency, ${opts.subscribers} subscribers: ${main.messages} msgs from ${main.ticks} ticks: mean ${main.mean} ms, p50 ${main.p50} ms, p95 ${main.p95} ms, p99 ${main.p99} ms, max ${main.max} ms (conflated ${(main.conflated_share * 100).toFixed(0)}%)`,
    );
    return { ...main, floor };
  } finally {
    await sys.stopDispatchers();
  }
}
