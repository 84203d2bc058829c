/**
 * Scenario 1 — fan-out: one tick to N subscribers (70% SMS, 20% WhatsApp, 10% Viber), channel
 * limits at the configuration's maximum so the limiter is not what is measured. Times until every
 * send job is enqueued (the fan-out job's finish, checked against BullMQ's id counters) and until
 * the simulator accepted every message. Also gives Redis memory per subscriber (used_memory
 * delta over the largest seeding).
 */
import { fanoutJobId } from '@tickercast/shared';
import { watchCpu, type CpuWatch } from '../lib/cpu.ts';
import { seedSubscribers, tick } from '../lib/load.ts';
import { sleep, waitFor } from '../lib/procs.ts';
import type { BenchSystem } from '../lib/system.ts';

/** The highest rate the configuration accepts (config.ts caps a channel rate at 10,000/s). */
export const MAX_RATE = 10_000;
export const MAX_RATE_ENV = {
  SMS_RATE_PER_SEC: String(MAX_RATE),
  WHATSAPP_RATE_PER_SEC: String(MAX_RATE),
  MESSENGER_RATE_PER_SEC: String(MAX_RATE),
  VIBER_RATE_PER_SEC: String(MAX_RATE),
};

export interface FanoutRun {
  n: number;
  enqueue_s: number;
  deliver_s: number;
  msgs_per_s: number;
  accepted: number;
  byChannel: Record<string, number>;
  /** CPU seconds per process from the tick to the last acceptance. */
  cpu: ReturnType<CpuWatch['stop']>;
}

/**
 * Ticks `symbol` and waits until the fan-out has added `n` send jobs. The tick's job adds its
 * first page and hands the others on as page jobs (to whichever dispatcher takes them), so the
 * count of added send jobs, not the tick's job, says when the fan-out is done.
 */
export async function tickUntilEnqueued(sys: BenchSystem, symbol: string, n: number, timeoutMs: number): Promise<{ tickedAt: number; enqueuedAt: number }> {
  const addedBefore = await sys.sendJobsAdded();
  const { tickedAt, version } = await tick(sys, symbol, 100);
  const outcome = await waitFor(
    `fan-out of ${n} enqueued`,
    async () => {
      const failed = (await sys.queues.fanout.getJob(fanoutJobId({ symbol, version })))?.failedReason;
      if (failed) return { failed };
      return (await sys.sendJobsAdded()) - addedBefore >= n ? { at: Date.now() } : undefined;
    },
    timeoutMs,
    10,
  );
  if ('failed' in outcome) throw new Error(`fan-out failed: ${outcome.failed}`);
  return { tickedAt, enqueuedAt: outcome.at };
}

/**
 * One measured fan-out of N on a running system (dispatchers started by the caller). `series`
 * keeps phone numbers and the symbol apart from other runs on the same Redis.
 */
export async function fanoutOnce(sys: BenchSystem, n: number, series: number): Promise<FanoutRun & { seedBytes: number }> {
  const symbol = `F${series}N${n}`.slice(0, 10);
  const memBefore = await sys.usedMemory();
  const { byChannel } = await seedSubscribers(sys, { symbol, n, series });
  const seedBytes = (await sys.usedMemory()) - memBefore;

  const acceptedBefore = (await sys.simStats()).channels.all.accepted;
  const timeoutMs = 60_000 + n * 2;

  const cpu = watchCpu(sys.pids());
  const { tickedAt, enqueuedAt } = await tickUntilEnqueued(sys, symbol, n, timeoutMs);

  await waitFor(`${n} messages accepted`, async () => (await sys.simStats()).channels.all.accepted - acceptedBefore >= n, timeoutMs, 25);
  const last = (await sys.simMessages({ limit: 1 })).messages[0]!;
  const deliveredAt = Date.parse(last.acceptedAt);
  const accepted = (await sys.simStats()).channels.all.accepted - acceptedBefore;
  const usage = cpu.stop();
  const deliver_s = (deliveredAt - tickedAt) / 1000;
  return {
    n,
    enqueue_s: (enqueuedAt - tickedAt) / 1000,
    deliver_s,
    msgs_per_s: n / deliver_s,
    accepted,
    byChannel,
    cpu: usage,
    seedBytes,
  };
}

/** The run whose msgs/s is the median of `runs`. */
function median(runs: FanoutRun[]): FanoutRun {
  return [...runs].sort((a, b) => a.msgs_per_s - b.msgs_per_s)[Math.floor((runs.length - 1) / 2)]!;
}

/** Each size `repeat` times on one dispatcher (after a warm-up); the median run per size is the figure. */
export async function runFanout(sys: BenchSystem, sizes: number[], opts: { repeat?: number; profileDir?: string | undefined } = {}) {
  await sys.reset();
  await sys.startDispatchers({ env: MAX_RATE_ENV, profileDir: opts.profileDir });
  try {
    // Warm-up (JIT, connections, the JWT): not measured.
    await fanoutOnce(sys, 100, 90);
    await sleep(100);
    const runs: (FanoutRun & { all: FanoutRun[] })[] = [];
    let memory = { n: 0, bytes: 0 };
    let series = 10;
    for (const n of sizes) {
      const all: FanoutRun[] = [];
      for (let k = 0; k < (opts.repeat ?? 1); k++) {
        const { seedBytes, ...run } = await fanoutOnce(sys, n, series++);
        all.push(run);
        if (n >= memory.n) memory = { n, bytes: seedBytes };
        const others = run.cpu.others_s === undefined ? '' : `, others ${run.cpu.others_s}`;
        console.log(`  fan-out ${n}: enqueued ${run.enqueue_s.toFixed(2)} s, delivered ${run.deliver_s.toFixed(2)} s, ${Math.round(run.msgs_per_s)} msgs/s; cpu s ${JSON.stringify(run.cpu.cpu_s)}${others}`);
        await sleep(100);
      }
      runs.push({ ...median(all), all });
    }
    return { runs, memory_bytes_per_subscriber: memory.bytes / memory.n, memory_n: memory.n };
  } finally {
    await sys.stopDispatchers();
  }
}
