/**
 * Scenario 1 — one tick to N subscribers (70% SMS, 20% WhatsApp, 10% Viber), channel limits at
 * the configuration's maximum so the limiter is not what is measured. The tick itself enqueues no
 * send: it wakes the refill, which queues one feed send per due subscriber in batches of at most
 * 2,000, keeping each send queue topped up to its watermark (2 s of the channel's rate: 20,000 at
 * 10,000/s). Times, from the tick: the first acceptance; until the refill had queued a send for
 * every one of the N (BullMQ's id counters; for N above the watermark that is reached only as the
 * queue drains, so it is close to the last delivery); until the simulator accepted the last
 * message. Also gives Redis memory per subscriber (used_memory delta over the largest seeding,
 * the due index included).
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
  /** Tick to the simulator's first acceptance. */
  first_delivery_s: number;
  /** Tick to the refill having queued a feed send for every one of the N. */
  all_queued_s: number;
  /** Tick to the last acceptance. */
  deliver_s: number;
  msgs_per_s: number;
  accepted: number;
  byChannel: Record<string, number>;
  /** CPU seconds per process from the tick to the last acceptance. */
  cpu: ReturnType<CpuWatch['stop']>;
}

/**
 * Ticks `symbol` and waits until the refill has queued `n` send jobs (the count of added send
 * jobs: the tick's job only wakes the refill, which adds them in batches as the queues allow).
 */
export async function tickUntilQueued(sys: BenchSystem, symbol: string, n: number, timeoutMs: number): Promise<{ tickedAt: number; queuedAt: number }> {
  const addedBefore = await sys.sendJobsAdded();
  const { tickedAt, version } = await tick(sys, symbol, 100);
  const outcome = await waitFor(
    `${n} feed sends queued`,
    async () => {
      const failed = (await sys.queues.fanout.getJob(fanoutJobId({ symbol, version })))?.failedReason;
      if (failed) return { failed };
      return (await sys.sendJobsAdded()) - addedBefore >= n ? { at: Date.now() } : undefined;
    },
    timeoutMs,
    10,
  );
  if ('failed' in outcome) throw new Error(`tick job failed: ${outcome.failed}`);
  return { tickedAt, queuedAt: outcome.at };
}

/** When the simulator accepted the first message since `since` (exact while no more than `limit` were accepted when asked). */
async function firstAcceptance(sys: BenchSystem, since: number, limit = 1000): Promise<number> {
  const { messages } = await sys.simMessages({ since, limit });
  return Math.min(...messages.map((m) => Date.parse(m.acceptedAt)));
}

/**
 * One measured tick to N on a running system (dispatchers started by the caller). `series`
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
  // The first acceptance, caught while the sends are queued (the simulator keeps the messages in order).
  let firstAt: Promise<number> | undefined;
  let tickedAtSeen = 0;
  const watchFirst = setInterval(() => {
    if (firstAt || tickedAtSeen === 0) return;
    void sys.simStats().then((st) => {
      if (!firstAt && st.channels.all.accepted > acceptedBefore) firstAt = firstAcceptance(sys, tickedAtSeen);
    });
  }, 10);
  let queued: { tickedAt: number; queuedAt: number };
  try {
    const ticking = tickUntilQueued(sys, symbol, n, timeoutMs);
    tickedAtSeen = Date.now() - 5; // the tick time is taken inside; `since` only has to be before the first acceptance
    queued = await ticking;
    await waitFor(`${n} messages accepted`, async () => (await sys.simStats()).channels.all.accepted - acceptedBefore >= n, timeoutMs, 25);
  } finally {
    clearInterval(watchFirst);
  }
  const last = (await sys.simMessages({ limit: 1 })).messages[0]!;
  const deliveredAt = Date.parse(last.acceptedAt);
  const accepted = (await sys.simStats()).channels.all.accepted - acceptedBefore;
  const usage = cpu.stop();
  const { tickedAt, queuedAt } = queued;
  const firstDeliveredAt = await (firstAt ?? firstAcceptance(sys, tickedAt, 100_000));
  const deliver_s = (deliveredAt - tickedAt) / 1000;
  return {
    n,
    first_delivery_s: (firstDeliveredAt - tickedAt) / 1000,
    all_queued_s: (queuedAt - tickedAt) / 1000,
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
        console.log(`  tick to ${n}: first delivery ${run.first_delivery_s.toFixed(3)} s, all queued ${run.all_queued_s.toFixed(2)} s, delivered ${run.deliver_s.toFixed(2)} s, ${Math.round(run.msgs_per_s)} msgs/s; cpu s ${JSON.stringify(run.cpu.cpu_s)}${others}`);
        await sleep(100);
      }
      runs.push({ ...median(all), all });
    }
    return { runs, memory_bytes_per_subscriber: memory.bytes / memory.n, memory_n: memory.n };
  } finally {
    await sys.stopDispatchers();
  }
}
