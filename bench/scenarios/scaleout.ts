/**
 * Scenario 3 — scale-out: the same fan-out (N subscribers, channel limits at their maximum) with
 * 1, 2 and 4 dispatcher processes sharing the queues (dispatchers are added between runs, each
 * run after a warm-up fan-out). On two cores more processes share the same CPUs, and each
 * channel's limiter is shared through Redis, so this shows what replicas buy on this machine.
 */
import { CHANNELS } from '@tickercast/shared';
import { seedSubscribers } from '../lib/load.ts';
import { sleep } from '../lib/procs.ts';
import type { BenchSystem } from '../lib/system.ts';
import { fanoutOnce, MAX_RATE_ENV, tickUntilEnqueued } from './fanout.ts';

/**
 * A fan-out with every send queue paused, so that the dispatchers do nothing but fan out: how the
 * adds of one tick spread over the dispatchers' fan-out workers (pages handed on), without the
 * sends competing for the same cores. The send jobs are dropped afterwards.
 */
async function enqueueOnly(sys: BenchSystem, n: number, series: number): Promise<number> {
  const symbol = `E${series}N${n}`.slice(0, 10);
  await seedSubscribers(sys, { symbol, n, series });
  await Promise.all(CHANNELS.map((c) => sys.queues.send[c].pause()));
  try {
    const { tickedAt, enqueuedAt } = await tickUntilEnqueued(sys, symbol, n, 120_000);
    return (enqueuedAt - tickedAt) / 1000;
  } finally {
    await Promise.all(CHANNELS.map((c) => sys.queues.send[c].obliterate({ force: true })));
    await Promise.all(CHANNELS.map((c) => sys.queues.send[c].resume()));
  }
}

export async function runScaleout(sys: BenchSystem, opts: { n: number; enqueueN: number; counts: number[] }) {
  const out: {
    dispatchers: number;
    msgs_per_s: number;
    enqueue_s: number;
    deliver_s: number;
    /** Fan-out of `enqueueN` with the sends paused: the fan-out alone, shared by the dispatchers. */
    enqueue_only_s: number;
    enqueue_only_n: number;
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
      const enqueueOnlyS = await enqueueOnly(sys, opts.enqueueN, 70 + count);
      console.log(`  scale-out ${count} dispatcher(s): fan-out of ${opts.enqueueN} with the sends paused enqueued in ${enqueueOnlyS.toFixed(2)} s`);
      await sleep(200);
      const run = await fanoutOnce(sys, opts.n, 60 + count);
      out.push({
        dispatchers: count,
        msgs_per_s: run.msgs_per_s,
        enqueue_s: run.enqueue_s,
        deliver_s: run.deliver_s,
        enqueue_only_s: enqueueOnlyS,
        enqueue_only_n: opts.enqueueN,
        cpu_s: run.cpu.cpu_s,
        others_s: run.cpu.others_s,
      });
      console.log(
        `  scale-out ${count} dispatcher(s), ${opts.n} subscribers: enqueued in ${run.enqueue_s.toFixed(2)} s, ${Math.round(run.msgs_per_s)} msgs/s (delivered in ${run.deliver_s.toFixed(2)} s); cpu s ${JSON.stringify(run.cpu.cpu_s)}`,
      );
    }
  } finally {
    await sys.stopDispatchers();
  }
  return out;
}
