/**
 * Scenario 4 — the baselines, on the same Redis in the same run:
 *  - bare BullMQ: N no-op jobs added with addBulk in chunks of 1000 (as fan-out pages) while a
 *    Worker in its own process, at the dispatcher's concurrency, processes them: enqueue time and
 *    processed jobs per second;
 *  - addBulk alone (nothing consuming), plain and with a feed send's job options (priority +
 *    deduplication per subscriber, as the refill adds them): what BullMQ itself charges for
 *    those options;
 *  - `redis-benchmark` SET/GET/LPUSH/LPOP: the server's ceiling.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { feedSend, sendFetchLimiter } from '@tickercast/shared';
import { MAX_RATE } from './fanout.ts';
import { watchCpu } from '../lib/cpu.ts';
import { launchScript, waitFor } from '../lib/procs.ts';
import type { BenchSystem } from '../lib/system.ts';

const CHUNK = 1000;

async function addInChunks(queue: Queue, n: number, opts: (i: number) => object): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < n; start += CHUNK) {
    const jobs = [];
    for (let i = start; i < Math.min(n, start + CHUNK); i++) jobs.push({ name: 'noop', data: { subscriberId: `sms:447000${String(i).padStart(7, '0')}`, symbol: 'BASE' }, opts: opts(i) });
    await queue.addBulk(jobs);
  }
  return (performance.now() - started) / 1000;
}

export interface BareRun {
  n: number;
  enqueue_s: number;
  processed_s: number;
  jobs_per_s: number;
  cpu: ReturnType<ReturnType<typeof watchCpu>['stop']>;
}

/** After `warmUp` jobs (not measured), adds N jobs while a worker process takes them; times the adds and the whole. */
async function bare(sys: BenchSystem, name: string, n: number, concurrency: number, warmUp: number, rate = 0): Promise<BareRun> {
  const queue = new Queue(name, { connection: sys.redis, prefix: sys.keys.queuePrefix(name), defaultJobOptions: { removeOnComplete: { count: 1000 } } });
  const worker = launchScript(`baseline-${name}`, 'bench/baseline-worker.ts', {
    REDIS_URL: sys.redisUrl,
    REDIS_NAMESPACE: 'bench',
    BASELINE_QUEUE: name,
    BASELINE_CONCURRENCY: String(concurrency),
    BASELINE_RATE: String(rate),
  });
  try {
    await waitFor('baseline worker', async () => (await queue.getWorkersCount()) >= 1, 20_000, 50, worker);
    const drained = async () => Object.values(await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed')).every((v) => v === 0);
    if (warmUp > 0) {
      await addInChunks(queue, warmUp, () => ({}));
      await waitFor('baseline warm-up processed', drained, 60_000, 10, worker);
    }
    const cpu = watchCpu({ redis: sys.pids().redis, worker: worker.child.pid });
    const started = performance.now();
    const enqueue_s = await addInChunks(queue, n, () => ({}));
    await waitFor(`${n} baseline jobs processed`, drained, 60_000 + n * 2, 10, worker);
    const processed_s = (performance.now() - started) / 1000;
    return { n, enqueue_s, processed_s, jobs_per_s: n / processed_s, cpu: cpu.stop() };
  } finally {
    await worker.stop(5000);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** addBulk alone, nothing consuming: plain jobs, or with a feed send's options (priority, deduplication per subscriber). */
async function enqueueOnly(sys: BenchSystem, n: number, feedOptions: boolean): Promise<number> {
  const name = feedOptions ? 'baseline-feed-opts' : 'baseline-plain';
  const queue = new Queue(name, { connection: sys.redis, prefix: sys.keys.queuePrefix(name) });
  try {
    return await addInChunks(queue, n, (i) =>
      feedOptions ? { ...feedSend(`sms:447000${String(i).padStart(7, '0')}`).opts, removeOnComplete: { count: 1000 } } : { removeOnComplete: { count: 1000 } },
    );
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

async function redisBenchmark(port: number, requests: number): Promise<Record<string, number>> {
  const { stdout } = await promisify(execFile)('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-q', '-n', String(requests), '-t', 'set,get,lpush,lpop'], {
    timeout: 120_000,
  });
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/([A-Z]+)[^:\r\n]*: ([\d.]+) requests per second/g)) out[m[1]!.toLowerCase()] = Number(m[2]);
  return out;
}

export async function runBaseline(sys: BenchSystem, opts: { n: number; concurrency: number; limitedN?: number | undefined; redisRequests: number }) {
  await sys.reset();
  const run = await bare(sys, 'baseline', opts.n, opts.concurrency, Math.min(2000, opts.n));
  console.log(`  bare BullMQ ${opts.n}: addBulk ${run.enqueue_s.toFixed(2)} s, processed ${run.processed_s.toFixed(2)} s, ${Math.round(run.jobs_per_s)} jobs/s; cpu s ${JSON.stringify(run.cpu.cpu_s)}`);
  // With the limiter a send queue gets at the fan-out scenarios' rate (the configuration's maximum): what the limiter itself costs.
  const limited = opts.limitedN ? await bare(sys, 'baseline-limited', opts.limitedN, opts.concurrency, Math.min(2000, opts.limitedN), MAX_RATE) : undefined;
  if (limited) console.log(`  bare BullMQ ${limited.n} with the limiter of a ${MAX_RATE}/s channel (${JSON.stringify(sendFetchLimiter(MAX_RATE))}): ${Math.round(limited.jobs_per_s)} jobs/s`);
  const plainEnqueue_s = await enqueueOnly(sys, opts.n, false);
  const fanoutOptsEnqueue_s = await enqueueOnly(sys, opts.n, true);
  console.log(`  addBulk ${opts.n} alone: plain ${plainEnqueue_s.toFixed(2)} s, with a feed send's options ${fanoutOptsEnqueue_s.toFixed(2)} s`);
  const redis = await redisBenchmark(sys.redisPort, opts.redisRequests);
  console.log(`  redis-benchmark: ${Object.entries(redis).map(([k, v]) => `${k} ${Math.round(v)}/s`).join(', ')}`);
  await sys.redis.flushall();
  return { bare: run, limited, plainEnqueue_s, fanoutOptsEnqueue_s, redis };
}
