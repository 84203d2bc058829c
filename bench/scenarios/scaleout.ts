/**
 * Scenario 3 — scale-out: the same tick to N subscribers (channel limits at their maximum) with
 * 1, 2 and 4 dispatcher processes sharing the queues (dispatchers are added between runs, each
 * run after a warm-up tick). On two cores more processes share the same CPUs, and each channel's
 * schedule is shared through Redis, so this shows what replicas buy on this machine.
 *
 * The tick enqueues nothing per subscriber any more (its job wakes the refill), and one
 * dispatcher at a time refills a channel (a lock in Redis): there is no fan-out left to share, so
 * the earlier "fan-out alone, sends paused" run is gone; the replicas share the sends.
 */
import { sleep } from '../lib/procs.ts';
import type { BenchSystem } from '../lib/system.ts';
import { fanoutOnce, MAX_RATE_ENV } from './fanout.ts';

export async function runScaleout(sys: BenchSystem, opts: { n: number; counts: number[] }) {
  const out: {
    dispatchers: number;
    msgs_per_s: number;
    first_delivery_s: number;
    all_queued_s: number;
    deliver_s: number;
    cpu_s: Record<string, number>;
    others_s?: number | undefined;
  }[] = [];
  await sys.reset();
  try {
    for (const count of opts.counts) {
      const added = count - sys.dispatchers.length;
      if (added > 0) {
        await sys.startDispatchers({ count: added, env: MAX_RATE_ENV });
        await fanoutOnce(sys, 100 * added, 90 + count); // warm-up of the new ones: JIT, connections, the JWT
      }
      await sleep(200);
      const run = await fanoutOnce(sys, opts.n, 60 + count);
      out.push({
        dispatchers: count,
        msgs_per_s: run.msgs_per_s,
        first_delivery_s: run.first_delivery_s,
        all_queued_s: run.all_queued_s,
        deliver_s: run.deliver_s,
        cpu_s: run.cpu.cpu_s,
        others_s: run.cpu.others_s,
      });
      console.log(
        `  scale-out ${count} dispatcher(s), ${opts.n} subscribers: all queued ${run.all_queued_s.toFixed(2)} s, ${Math.round(run.msgs_per_s)} msgs/s (delivered in ${run.deliver_s.toFixed(2)} s); cpu s ${JSON.stringify(run.cpu.cpu_s)}`,
      );
    }
  } finally {
    await sys.stopDispatchers();
  }
  return out;
}
