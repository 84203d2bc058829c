/**
 * Scenario 5 — conflation under a stalled provider: the bench ticks 20 times a second while the
 * simulator holds every request (fault injection: latency as long as the stall), then lets go.
 * Redis used_memory and the jobs pending before, each second during, and after the backlog
 * drained: with price sends deduplicated per subscription, pending sends stay within the
 * subscriber count and memory stays flat however long the stall. Also checks that every
 * subscriber's last message carries the final price.
 */
import { seedSubscribers, tick, tickLoop } from '../lib/load.ts';
import { sleep, waitFor } from '../lib/procs.ts';
import { round } from '../lib/stats.ts';
import type { BenchSystem } from '../lib/system.ts';
import { MAX_RATE_ENV } from './fanout.ts';

const SYMBOL = 'CONF';

interface Sample {
  t_s: number;
  used_memory: number;
  pending_sends: number;
  pending_fanouts: number;
}

export async function runConflation(sys: BenchSystem, opts: { subscribers: number; ticksPerSecond: number; stallSeconds: number }) {
  await sys.reset();
  const stallMs = opts.stallSeconds * 1000;
  // Requests held for the whole stall must not time out in the client (they would be retried, not lost, but it is not what is measured).
  await Promise.all([
    sys.startDispatchers({ env: { ...MAX_RATE_ENV, VONAGE_TIMEOUT_MS: String(stallMs + 30_000) } }),
    seedSubscribers(sys, { symbol: SYMBOL, n: opts.subscribers, series: 30 }),
  ]);
  try {
    // Every subscriber has been sent a price once: the state of a system that has been running.
    await tick(sys, SYMBOL, 99);
    await waitFor('first tick delivered', async () => (await sys.simStats()).channels.all.accepted >= opts.subscribers, 60_000, 50);

    const start = Date.now();
    const sample = async (): Promise<Sample> => ({
      t_s: round((Date.now() - start) / 1000, 1),
      used_memory: await sys.usedMemory(),
      pending_sends: (await sys.pendingSends()).total,
      pending_fanouts: await sys.fanoutPending(),
    });
    const before = await sample();

    await sys.simFaults({ latencyMs: stallMs });
    const loop = tickLoop(sys, {
      symbol: SYMBOL,
      intervalMs: 1000 / opts.ticksPerSecond,
      maxTicks: Math.round(opts.stallSeconds * opts.ticksPerSecond),
      maxMs: stallMs,
      priceOf: (i) => 100 + i / 100,
    });
    const during: Sample[] = [];
    while (Date.now() - start < stallMs - 500) {
      await sleep(1000 - ((Date.now() - start) % 1000));
      during.push(await sample());
    }
    await loop.stop();
    // Lift the stall just before the held requests come back, so the next ones go through at once.
    await sys.simDelete('/_sim/faults');
    const finalPrice = loop.ticks.at(-1)!.price;
    const stalledAccepted = (await sys.simStats()).channels.all.accepted;

    await waitFor('the backlog drained', () => sys.drained(), 120_000, 100);
    const drained_s = round((Date.now() - start) / 1000 - opts.stallSeconds, 1);
    await sleep(300);
    const after = await sample();

    // Each subscriber's last message should carry the final price.
    const { messages } = await sys.simMessages({ since: start, limit: 100_000 });
    const last = new Map<string, string>();
    for (const m of messages) last.set(`${m.channel}:${m.to}`, m.display);
    const finalText = `${SYMBOL} ${finalPrice.toFixed(2)}`;
    const onFinal = [...last.values()].filter((t) => t.includes(finalText)).length;

    const peak = during.reduce((a, s) => (s.used_memory > a.used_memory ? s : a), before);
    const result = {
      subscribers: opts.subscribers,
      ticks: loop.ticks.length,
      stall_s: opts.stallSeconds,
      before,
      during,
      after,
      peak_used_memory: peak.used_memory,
      max_pending_sends: Math.max(...during.map((s) => s.pending_sends)),
      max_pending_fanouts: Math.max(...during.map((s) => s.pending_fanouts)),
      messages_after_stall: messages.length - (stalledAccepted - opts.subscribers),
      drained_after_s: drained_s,
      subscribers_on_final_price: onFinal,
    };
    const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
    console.log(
      `  conflation: ${result.ticks} ticks in a ${opts.stallSeconds} s stall to ${opts.subscribers} subscribers: used_memory ${mb(before.used_memory)} → peak ${mb(peak.used_memory)} → ${mb(after.used_memory)} after; ` +
        `pending sends max ${result.max_pending_sends}, fan-outs max ${result.max_pending_fanouts}; drained ${drained_s} s after; ${onFinal}/${last.size} ended on the final price`,
    );
    return result;
  } finally {
    await sys.simDelete('/_sim/faults').catch(() => undefined);
    await sys.stopDispatchers();
  }
}
