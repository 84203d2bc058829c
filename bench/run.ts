/**
 * The benchmark suite: the real processes (redis-server, simulator, dispatchers, ingress) under
 * load the bench makes itself, against bare BullMQ and redis-benchmark on the same server.
 *
 *   npm run bench                         # full (several minutes)
 *   npm run bench -- --quick              # under a minute, smaller sizes
 *   npm run bench -- --json out.json      # also write the figures as JSON
 *   npm run bench -- --only fanout,latency --profile   # some scenarios; dispatchers under --cpu-prof
 *   npm run bench -- --only fanout --repeat 3          # each fan-out size 3 times, the median counts
 *   npm run bench -- --wait-quiet 120                  # on a shared machine: before each scenario, wait up to 120 s for the others to go quiet
 *   npm run bench -- --only sustained --sustained-sizes 10000,100000 --sustained-seconds 60
 *   npm run bench -- --only sustained --sustained-cluster   # sustained on one Redis, then on a local 3-primary cluster, side by side
 *   npm run bench -- --quick --only alerts             # tick cost with 0 and 100,000 price alerts held
 *   npm run bench -- --only latency --floor-seconds 30 # the 10-subscriber floor over 150 ticks instead of 25 (its mean to 0.1 ms)
 *
 * Every process it starts is stopped at the end, on failure and on Ctrl-C too. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { waitForQuiet, watchMachine } from './lib/cpu.ts';
import { repoRoot, stopAll } from './lib/procs.ts';
import { round, type Percentiles } from './lib/stats.ts';
import { BenchSystem } from './lib/system.ts';
import { runAlerts, type AlertsRun } from './scenarios/alerts.ts';
import { runBaseline } from './scenarios/baseline.ts';
import { runConflation } from './scenarios/conflation.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runLatency } from './scenarios/latency.ts';
import { runMicro } from './scenarios/micro.ts';
import { runRateLimit } from './scenarios/ratelimit.ts';
import { runReplyBurst } from './scenarios/reply-burst.ts';
import { runReplies } from './scenarios/replies.ts';
import { runScaleout } from './scenarios/scaleout.ts';
import { queuesWithin, runSustained, type SustainedRun } from './scenarios/sustained.ts';

const SCENARIOS = ['baseline', 'micro', 'fanout', 'latency', 'scaleout', 'conflation', 'ratelimit', 'replies', 'sustained', 'alerts'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'wait-quiet': { type: 'string', default: '0' },
    /** The sustained scenario's sizes and seconds, instead of the mode's. */
    'sustained-sizes': { type: 'string' },
    'sustained-seconds': { type: 'string' },
    /** Run the sustained scenario a second time on a local Redis Cluster (3 primaries, a replica each). */
    'sustained-cluster': { type: 'boolean', default: false },
    /** How long the latency scenario's 10-subscriber floor ticks, instead of the mode's. */
    'floor-seconds': { type: 'string' },
  },
});
/** Quick mode leaves out the micro-benchmarks (ask for them with --only micro). */
const only = new Set((args.only?.split(',').map((s) => s.trim()) ?? SCENARIOS.filter((s) => !(args.quick && s === 'micro'))) as Scenario[]);
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
const quick = args.quick;

/** A command-line number that must be above zero: a clear error rather than a run on NaN. */
function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${flag}: expected a number above 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Sizes per mode. The dispatcher's own concurrency default (50) is what the baseline uses too. */
const PLAN = {
  concurrency: 50,
  fanoutSizes: quick ? [1000, 10_000] : [1000, 10_000, 100_000],
  latency: { subscribers: 1000, ticksPerSecond: 5, seconds: quick ? 5 : 10, floorSeconds: args['floor-seconds'] ? positiveNumber('--floor-seconds', args['floor-seconds']) : quick ? 1 : 5 },
  scaleout: { n: quick ? 1000 : 10_000, counts: [1, 2, 4] },
  baseline: { n: quick ? 10_000 : 100_000, limitedN: quick ? undefined : 20_000, redisRequests: quick ? 20_000 : 100_000 },
  conflation: { subscribers: quick ? 500 : 1000, ticksPerSecond: 20, stallSeconds: quick ? 5 : 30 },
  ratelimit: { limit: 50, seconds: quick ? 8 : 30 },
  replies: { subscribers: 5000, limit: 20, replies: quick ? 10 : 20, spacingMs: 500 },
  replyBurst: { feedSubscribers: 1000, limit: 20, confirmations: 400, burstMs: 2000, helpsAtMs: [1000, 5000, 12_000] },
  /** The refill's micro-benchmark queues N due subscribers: at most the watermark at 10,000/s (20,000). */
  micro: { sendSubscribers: quick ? 2000 : 5000, sendRounds: quick ? 3 : 5, refillN: quick ? 10_000 : 20_000, clientRequests: quick ? 5000 : 20_000 },
  sustained: {
    sizes: args['sustained-sizes']?.split(',').map(Number) ?? (quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]),
    seconds: Number(args['sustained-seconds'] ?? (quick ? 20 : 60)),
    steadyAfterS: Number(args['sustained-seconds'] ?? (quick ? 20 : 60)) >= 40 ? 10 : 5,
  },
  /** Price alerts held (issue 16): the same ticks with none and with 100,000, beside a plain feed. */
  alerts: { sizes: [0, 100_000], subscribers: 60, seconds: quick ? 10 : 30, checkRounds: quick ? 500 : 2000 },
};

function machine() {
  const sh = (cmd: string, a: string[]) => {
    try {
      return execFileSync(cmd, a, { encoding: 'utf8', cwd: repoRoot }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    redis: sh('redis-server', ['--version'])?.match(/v=(\S+)/)?.[1],
    bullmq: (JSON.parse(readFileSync(join(repoRoot, 'node_modules/bullmq/package.json'), 'utf8')) as { version: string }).version,
    loadavg_at_start: loadavg().map((v) => round(v)),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']),
    dirty: (sh('git', ['status', '--porcelain']) ?? '') !== '',
  };
}

const started = Date.now();
const profileDir = args.profile ? join(repoRoot, 'bench-results', 'profiles') : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const sys = new BenchSystem({ profileDir });
const results: Record<string, unknown> = {};
const errors: Record<string, string> = {};
/** Per scenario: wall time, CPU of the bench's processes, CPU of everything else on the machine. */
const machineLoad: Record<string, ReturnType<ReturnType<typeof watchMachine>['stop']>> = {};

/** `key` names the figures of a second run of a scenario (its machine load, its error). */
async function scenario<T>(name: Scenario, title: string, fn: () => Promise<T>, key: string = name): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  console.log(`\n▶ ${title}`);
  const quietS = Number(args['wait-quiet']);
  if (quietS > 0) {
    const busy = await waitForQuiet(0.3, quietS * 1000);
    console.log(`  (machine ${busy} of a core busy before starting)`);
  }
  const watch = watchMachine(() => [sys.pids().redis, sys.pids().simulator]);
  try {
    const r = await fn();
    const m = watch.stop();
    machineLoad[key] = m;
    const busy = m.others_s === undefined ? '' : `; other work on the machine took ${m.others_s} CPU s (${(m.others_s / m.wall_s).toFixed(2)} of a core)`;
    console.log(`  (${m.wall_s.toFixed(1)} s; the bench's processes ${m.ours_s} CPU s${busy})`);
    return r;
  } catch (err) {
    errors[key] = (err as Error).stack ?? String(err);
    console.error(`  ✗ ${key} failed: ${(err as Error).message}`);
    await sys.stopDispatchers(5000).catch(() => undefined);
    await sys.stopIngress().catch(() => undefined);
    return undefined;
  }
}

try {
  console.log(`tickercast benchmarks (${quick ? 'quick' : 'full'}) — ${new Date().toISOString()}`);
  await sys.start();

  const baseline = await scenario('baseline', "Baseline: bare BullMQ, addBulk with a feed send's options, redis-benchmark", () =>
    runBaseline(sys, { ...PLAN.baseline, concurrency: PLAN.concurrency }),
  );
  const micro = await scenario('micro', 'Micro: the send path and the refill in-process; the Messages API client against node:http', () => runMicro(sys, PLAN.micro));
  const fanout = await scenario('fanout', `Fan-out: one tick to ${PLAN.fanoutSizes.join(', ')} subscribers (tick to last delivery)`, () =>
    runFanout(sys, PLAN.fanoutSizes, { repeat: Number(args.repeat) }),
  );
  const latency = await scenario('latency', `Latency: ${PLAN.latency.ticksPerSecond} ticks/s to ${PLAN.latency.subscribers} subscribers for ${PLAN.latency.seconds} s`, () =>
    runLatency(sys, PLAN.latency),
  );
  const scaleout = await scenario('scaleout', `Scale-out: ${PLAN.scaleout.counts.join(', ')} dispatchers, one tick to ${PLAN.scaleout.n}`, () => runScaleout(sys, PLAN.scaleout));
  const conflation = await scenario('conflation', `Conflation: ${PLAN.conflation.ticksPerSecond} ticks/s, simulator stalled ${PLAN.conflation.stallSeconds} s`, () =>
    runConflation(sys, PLAN.conflation),
  );
  const ratelimit = await scenario('ratelimit', `Rate limit: SMS at ${PLAN.ratelimit.limit}/s with a backlog, ${PLAN.ratelimit.seconds} s`, () =>
    runRateLimit(sys, PLAN.ratelimit),
  );
  const replies = await scenario(
    'replies',
    `Replies: ${PLAN.replies.replies} HELPs behind a feed of ${PLAN.replies.subscribers} SMS subscribers at ${PLAN.replies.limit}/s; then a burst of ${PLAN.replyBurst.confirmations} confirmations under a feed of ${PLAN.replyBurst.feedSubscribers}, HELPs during it`,
    async () => ({ ...(await runReplies(sys, PLAN.replies)), burst: await runReplyBurst(sys, PLAN.replyBurst) }),
  );
  const sustained = await scenario(
    'sustained',
    `Sustained: ${PLAN.sustained.sizes.join(', ')} subscribers, 5 symbols ticked every second for ${PLAN.sustained.seconds} s, channels at their default limits, one dispatcher`,
    () => runSustained(sys, PLAN.sustained),
  );
  const alerts = await scenario(
    'alerts',
    `Alerts: ${PLAN.alerts.sizes.join(' and ')} price alerts held beside ${PLAN.alerts.subscribers} subscribers, 5 symbols ticked every second for ${PLAN.alerts.seconds} s, none crossing`,
    () => runAlerts(sys, PLAN.alerts),
  );
  // The same on a Redis Cluster of the bench's own: a second system (its own simulator and dispatchers), stopped before the figures.
  const sustainedCluster = args['sustained-cluster']
    ? await scenario(
        'sustained',
        `Sustained on a local Redis Cluster (3 primaries, a replica each, on this machine's ${cpus().length} cores): the same sizes and ticks`,
        async () => {
          const csys = new BenchSystem({ profileDir, cluster: true });
          try {
            await csys.start();
            return await runSustained(csys, PLAN.sustained);
          } finally {
            await csys.close();
          }
        },
        'sustained_cluster',
      )
    : undefined;

  // --- the figures ---
  const largest = fanout?.runs.at(-1);
  const sameN = fanout?.runs.find((r) => r.n === baseline?.bare.n);
  const e2e = sameN ?? largest;
  Object.assign(results, {
    fanout:
      fanout &&
      Object.fromEntries(
        fanout.runs.map((r) => [
          r.n,
          {
            first_delivery_s: round(r.first_delivery_s, 3),
            all_queued_s: round(r.all_queued_s, 3),
            deliver_s: round(r.deliver_s, 3),
            msgs_per_s: round(r.msgs_per_s, 1),
            cpu: r.cpu,
            ...(r.all.length > 1 ? { repeats: r.all.map((x) => ({ deliver_s: round(x.deliver_s, 3), msgs_per_s: round(x.msgs_per_s, 1) })) } : {}),
          },
        ]),
      ),
    e2e_msgs_per_s: e2e && round(e2e.msgs_per_s, 1),
    e2e_n: e2e?.n,
    dispatcher_cpu_ms_per_msg: e2e && round(((e2e.cpu.cpu_s['dispatcher-1'] ?? NaN) * 1000) / e2e.n, 3),
    baseline_bullmq_jobs_per_s: baseline && round(baseline.bare.jobs_per_s, 1),
    ratio_to_bullmq: e2e && baseline && round(e2e.msgs_per_s / baseline.bare.jobs_per_s, 3),
    baseline: baseline && {
      n: baseline.bare.n,
      concurrency: PLAN.concurrency,
      addbulk_s: round(baseline.plainEnqueue_s, 3),
      addbulk_while_consumed_s: round(baseline.bare.enqueue_s, 3),
      processed_s: round(baseline.bare.processed_s, 3),
      jobs_per_s: round(baseline.bare.jobs_per_s, 1),
      /** addBulk with a feed send's options (priority, deduplication per subscriber). */
      addbulk_feed_options_s: round(baseline.fanoutOptsEnqueue_s, 3),
      /** With the limiter of a send queue at 10,000/s (sendFetchLimiter). */
      limited_jobs_per_s: baseline.limited && round(baseline.limited.jobs_per_s, 1),
      cpu: baseline.bare.cpu,
    },
    redis_benchmark: baseline?.redis,
    micro,
    latency_ms: latency && { p50: latency.p50, p95: latency.p95, p99: latency.p99, max: latency.max },
    latency,
    scaleout: scaleout && Object.fromEntries(scaleout.map((s) => [s.dispatchers, round(s.msgs_per_s, 1)])),
    scaleout_detail: scaleout,
    ratelimit,
    conflation,
    memory_bytes_per_subscriber: fanout && round(fanout.memory_bytes_per_subscriber, 1),
    memory_n: fanout?.memory_n,
    reply_latency_ms: replies && { p50: replies.p50, max: replies.max },
    replies,
    sustained: sustained && Object.fromEntries(sustained.map((r) => [r.subscribers, { ...r, queues_within: queuesWithin(r) }])),
    sustained_cluster: sustainedCluster && Object.fromEntries(sustainedCluster.map((r) => [r.subscribers, { ...r, queues_within: queuesWithin(r) }])),
    alerts: alerts && Object.fromEntries(alerts.map((r) => [r.alerts, r])),
  });
  const noAlerts = alerts?.find((r) => r.alerts === 0);
  const manyAlerts = alerts?.find((r) => r.alerts > 0);

  const small = sustained?.[0];
  const large = sustained?.at(-1);
  const fractions = sustained?.flatMap((r) => Object.values(r.channels).map((c) => c.fraction));

  const targets = [
    { name: 'e2e msgs/s vs bare BullMQ jobs/s', target: '≥ 0.5', value: results.ratio_to_bullmq as number | undefined, met: (v: number) => v >= 0.5 },
    { name: `p99 tick-to-acceptance, ${PLAN.latency.subscribers} subscribers (ms)`, target: '< 50', value: latency?.p99, met: (v: number) => v < 50 },
    { name: 'achieved rate / limit under backlog', target: '0.95–1.00', value: ratelimit?.fraction, met: (v: number) => v >= 0.95 && v <= 1 },
    { name: '429s at the limit', target: '0', value: ratelimit?.throttled, met: (v: number) => v === 0 },
    { name: 'reply latency max, no reply burst (ms)', target: '< 2000', value: replies?.max, met: (v: number) => v < 2000 },
    { name: `burst of ${PLAN.replyBurst.confirmations} replies under a feed: drain (s)`, target: `≤ ${1.15 * (PLAN.replyBurst.confirmations / PLAN.replyBurst.limit)}`, value: replies?.burst.drain_s, met: (v: number) => v <= 1.15 * (PLAN.replyBurst.confirmations / PLAN.replyBurst.limit) },
    { name: '  HELP during it: wait / (replies ahead at 90% of the rate)', target: '≤ 1', value: replies?.burst.help_wait_over_bound, met: (v: number) => v <= 1 },
    { name: '  feed share while replies waited (floor)', target: '> 0', value: replies?.burst.feed_share_while_waiting, met: (v: number) => v > 0 },
    { name: '  429s during the replies scenario', target: '0', value: replies && replies.throttled + replies.burst.throttled, met: (v: number) => v === 0 },
    {
      name: `sustained: Redis CPU per tick, ${large?.subscribers ?? 'largest size'} over ${small?.subscribers ?? '10k'} subscribers`,
      target: '≤ 2',
      value: small && large && large !== small ? round(large.redis_cpu_s_per_tick / small.redis_cpu_s_per_tick, 2) : undefined,
      met: (v: number) => v <= 2,
    },
    {
      name: 'sustained: sizes with a queue deeper than 3 s of its rate',
      target: '0',
      value: sustained?.filter((r) => !queuesWithin(r).ok).length,
      met: (v: number) => v === 0,
    },
    { name: 'sustained: lowest channel rate / limit', target: '0.95–1.00', value: fractions && Math.min(...fractions), met: (v: number) => v >= 0.95 && v <= 1 },
    { name: 'sustained: highest channel rate / limit', target: '0.95–1.00', value: fractions && Math.max(...fractions), met: (v: number) => v >= 0.95 && v <= 1 },
    {
      name: 'sustained: 429s',
      target: '0',
      value: sustained?.reduce((sum, r) => sum + Object.values(r.channels).reduce((a, c) => a + c.throttled, 0), 0),
      met: (v: number) => v === 0,
    },
    {
      name: `alerts: Redis CPU per tick, ${manyAlerts?.alerts ?? 100_000} alerts held over none`,
      target: '≤ 1.25',
      value: noAlerts && manyAlerts ? round(manyAlerts.redis_cpu_s_per_tick / noAlerts.redis_cpu_s_per_tick, 2) : undefined,
      met: (v: number) => v <= 1.25,
    },
    {
      name: `alerts: the check alone, time in its scripts per tick, ${manyAlerts?.alerts ?? 100_000} held over none`,
      target: '≤ 1.25',
      value: noAlerts && manyAlerts ? round(manyAlerts.check_script_us_per_round / noAlerts.check_script_us_per_round, 2) : undefined,
      met: (v: number) => v <= 1.25,
    },
    { name: 'alerts: fired (none crossed)', target: '0', value: alerts?.reduce((a, r) => a + r.fired, 0), met: (v: number) => v === 0 },
    { name: 'memory per subscriber, 1 ticker (fan-out seeding) (B)', target: '≤ 724', value: results.memory_bytes_per_subscriber as number | undefined, met: (v: number) => v <= 724 },
    { name: `memory per subscriber, 1–3 tickers (sustained, ${large?.subscribers ?? 'largest size'}) (B)`, target: '≤ 724', value: large?.memory_bytes_per_subscriber, met: (v: number) => v <= 724 },
  ].map((t) => ({ name: t.name, target: t.target, value: t.value ?? null, met: t.value === undefined ? null : t.met(t.value) }));
  results.targets = targets;

  printTable(results, targets);
  if (sustained && sustainedCluster) printClusterTable(sustained, sustainedCluster);
} catch (err) {
  errors.run = (err as Error).stack ?? String(err);
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await sys.close().catch((err: Error) => console.error(`closing: ${err.message}`));
  await stopAll();
}

const out = {
  meta: { date: new Date(started).toISOString(), mode: quick ? 'quick' : 'full', duration_s: round((Date.now() - started) / 1000, 1), plan: PLAN, machine: machine(), load_by_scenario: machineLoad },
  ...results,
  errors,
};
if (args.json) {
  writeFileSync(args.json, `${JSON.stringify(out, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
  console.log(`\nwrote ${args.json}`);
}
console.log(`\ndone in ${out.meta.duration_s} s${Object.keys(errors).length > 0 ? `, with errors in: ${Object.keys(errors).join(', ')}` : ''}`);
process.exit(Object.keys(errors).length > 0 ? 1 : 0);

function printTable(r: Record<string, unknown>, targets: { name: string; target: string; value: number | null; met: boolean | null }[]): void {
  const rows: [string, string][] = [];
  const fmt = (v: unknown, unit = '') => (v === undefined || v === null ? '—' : `${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(2)) : String(v)}${unit}`);
  const f = r.fanout as Record<string, { first_delivery_s: number; all_queued_s: number; deliver_s: number; msgs_per_s: number }> | undefined;
  for (const [n, x] of Object.entries(f ?? {}))
    rows.push([`tick to ${n}: first delivery / all queued / last delivery / msgs/s`, `${fmt(x.first_delivery_s, ' s')} / ${fmt(x.all_queued_s, ' s')} / ${fmt(x.deliver_s, ' s')} / ${fmt(Math.round(x.msgs_per_s))}`]);
  const b = r.baseline as { n: number; addbulk_s: number; jobs_per_s: number; addbulk_feed_options_s: number; limited_jobs_per_s?: number } | undefined;
  if (b) {
    rows.push([`bare BullMQ ${b.n}: jobs/s`, fmt(Math.round(b.jobs_per_s))]);
    rows.push([`addBulk ${b.n} alone: plain / a feed send's options`, `${fmt(b.addbulk_s, ' s')} / ${fmt(b.addbulk_feed_options_s, ' s')}`]);
    if (b.limited_jobs_per_s) rows.push(['bare BullMQ with a 10,000/s send queue limiter: jobs/s', fmt(Math.round(b.limited_jobs_per_s))]);
  }
  const rb = r.redis_benchmark as Record<string, number> | undefined;
  if (rb) rows.push(['redis-benchmark SET/GET/LPUSH/LPOP', Object.values(rb).map((v) => Math.round(v)).join(' / ')]);
  rows.push(['e2e msgs/s (one tick to the baseline N)', fmt(r.e2e_msgs_per_s)]);
  rows.push(['dispatcher CPU per message', fmt(r.dispatcher_cpu_ms_per_msg, ' ms')]);
  const l = r.latency as (Percentiles & { floor?: Percentiles }) | undefined;
  if (l) rows.push([`tick-to-acceptance, ${PLAN.latency.subscribers} subscribers p50 / p95 / p99 / max (mean)`, `${l.p50} / ${l.p95} / ${l.p99} / ${l.max} ms (${fmt(l.mean)})`]);
  const lf = l?.floor;
  if (lf) rows.push(['tick-to-acceptance, 10 subscribers p50 / p95 / p99 / max (mean)', `${lf.p50} / ${lf.p95} / ${lf.p99} / ${lf.max} ms (${fmt(lf.mean)})`]);
  const s = r.scaleout as Record<string, number> | undefined;
  if (s) rows.push(['scale-out msgs/s (1 / 2 / 4 dispatchers)', Object.values(s).map((v) => Math.round(v)).join(' / ')]);
  const sd = r.scaleout_detail as { all_queued_s: number }[] | undefined;
  if (sd) rows.push(['scale-out: all queued in (1 / 2 / 4 dispatchers)', sd.map((x) => fmt(x.all_queued_s, ' s')).join(' / ')]);
  const c = r.conflation as { before: { used_memory: number }; peak_used_memory: number; after: { used_memory: number }; max_pending_sends: number; subscribers: number } | undefined;
  if (c) {
    const mb = (v: number) => (v / 1048576).toFixed(1);
    rows.push(['conflation used_memory before / peak / after', `${mb(c.before.used_memory)} / ${mb(c.peak_used_memory)} / ${mb(c.after.used_memory)} MB`]);
    rows.push(['conflation max pending sends (subscribers)', `${c.max_pending_sends} (${c.subscribers})`]);
  }
  rows.push([`memory per subscriber (${fmt(r.memory_n)} seeded)`, fmt(r.memory_bytes_per_subscriber, ' B')]);
  const rl = r.ratelimit as { limit: number; achieved: number; throttled: number; max_per_rolling_second: number } | undefined;
  if (rl) rows.push(['rate limit: limit / achieved / max rolling s / 429s', `${rl.limit} / ${rl.achieved} / ${rl.max_per_rolling_second} / ${rl.throttled}`]);
  const rp = r.reply_latency_ms as { p50: number; max: number } | undefined;
  if (rp) rows.push(['reply latency, HELP behind the feed, p50 / max', `${rp.p50} / ${rp.max} ms`]);
  const burst = (r.replies as { burst?: { confirmations: number; drain_s: number; feed_per_s_while_waiting: number; feed_per_s_after: number; helps: { ahead: number; wait_ms: number; bound_ms: number }[] } } | undefined)?.burst;
  if (burst) {
    rows.push([`reply burst of ${burst.confirmations}: drain / feed while waiting / feed after`, `${burst.drain_s} s / ${burst.feed_per_s_while_waiting}/s / ${burst.feed_per_s_after}/s`]);
    rows.push(['HELPs during the burst: ahead → wait (bound)', burst.helps.map((h) => `${h.ahead} → ${h.wait_ms} ms (${h.bound_ms})`).join(', ')]);
  }
  const mi = r.micro as { send: { median_cpu_us_per_job: number }; refill: { n: number; queued_s: number; cpu_us_per_send: number; redis_cpu_us_per_send: number } } | undefined;
  if (mi) {
    rows.push(['micro: send path CPU per job', fmt(mi.send.median_cpu_us_per_job, ' µs')]);
    rows.push([`micro: refill of ${mi.refill.n}: time / CPU per send here / in Redis`, `${fmt(mi.refill.queued_s, ' s')} / ${fmt(mi.refill.cpu_us_per_send, ' µs')} / ${fmt(mi.refill.redis_cpu_us_per_send, ' µs')}`]);
  }
  const su = r.sustained as Record<string, SustainedRun> | undefined;
  for (const [n, x] of Object.entries(su ?? {})) {
    const ch = Object.entries(x.channels);
    rows.push([`sustained ${n}: Redis / dispatcher CPU per tick`, `${fmt(x.redis_cpu_s_per_tick * 1000, ' ms')} / ${fmt(x.dispatcher_cpu_s_per_tick * 1000, ' ms')}`]);
    rows.push([`sustained ${n}: max queue depth`, Object.entries(x.max_queue_depth).map(([q, d]) => `${q} ${d}`).join(', ')]);
    rows.push([`sustained ${n}: accepted/s of limit (429s)`, ch.map(([c, v]) => `${c} ${v.accepted_per_s}/${v.limit} (${v.throttled})`).join(', ')]);
    rows.push([`sustained ${n}: price age p50 / p99 / max; memory per subscriber`, `${x.price_age_ms.p50} / ${x.price_age_ms.p99} / ${x.price_age_ms.max} ms; ${fmt(x.memory_bytes_per_subscriber, ' B')}`]);
  }

  const al = r.alerts as Record<string, AlertsRun> | undefined;
  for (const [n, x] of Object.entries(al ?? {})) {
    rows.push([`alerts ${n} held: Redis / dispatcher CPU per tick`, `${fmt(x.redis_cpu_s_per_tick * 1000, ' ms')} / ${fmt(x.dispatcher_cpu_s_per_tick * 1000, ' ms')}`]);
    rows.push([`alerts ${n} held: the check alone per tick, Redis CPU / in its scripts; memory per alert`, `${fmt(x.check_redis_us_per_round, ' µs')} / ${fmt(x.check_script_us_per_round, ' µs')}; ${fmt(x.memory_bytes_per_alert, ' B')}`]);
  }

  const load = Object.entries(machineLoad).filter(([, m]) => m.others_s !== undefined);
  if (load.length > 0) rows.push(['other work on the machine (cores, by scenario)', load.map(([k, m]) => `${k} ${(m.others_s! / m.wall_s).toFixed(2)}`).join(', ')]);
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log('\n' + '─'.repeat(w + 30));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  console.log('─'.repeat(w + 30));
  const tw = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) console.log(`${t.met === null ? '·' : t.met ? '✓' : '✗'} ${t.name.padEnd(tw)}  ${fmt(t.value).padStart(8)}  target ${t.target}`);
}

/** The sustained scenario on one Redis and on the cluster, size by size, in two columns. */
function printClusterTable(single: SustainedRun[], cluster: SustainedRun[]): void {
  const ms = (s: number | undefined) => (s === undefined ? '—' : `${(s * 1000).toFixed(1)} ms`);
  const rows: [string, string, string][] = [['', 'one Redis', 'cluster, 3 primaries']];
  for (const one of single) {
    const cl = cluster.find((r) => r.subscribers === one.subscribers);
    const col = (f: (r: SustainedRun) => string): [string, string] => [f(one), cl ? f(cl) : '—'];
    const n = one.subscribers;
    rows.push([`${n}: Redis CPU per tick, total`, ...col((r) => ms(r.redis_cpu_s_per_tick))]);
    rows.push([`${n}: Redis CPU per tick, per primary`, ...col((r) => (r.by_primary ? Object.values(r.by_primary).map((p) => ms(p.redis_cpu_s_per_tick)).join(' / ') : ms(r.redis_cpu_s_per_tick)))]);
    rows.push([`${n}: replicas' CPU per tick, together`, ...col((r) => ms(r.replicas_cpu_s_per_tick))]);
    rows.push([`${n}: dispatcher CPU per tick`, ...col((r) => ms(r.dispatcher_cpu_s_per_tick))]);
    for (const c of Object.keys(one.channels) as (keyof SustainedRun['channels'])[])
      rows.push([`${n}: accepted/s ${c} (limit ${one.channels[c].limit}; 429s)`, ...col((r) => `${r.channels[c].accepted_per_s} (${r.channels[c].throttled})`)]);
    rows.push([`${n}: price age p50 / p99`, ...col((r) => `${r.price_age_ms.p50} / ${r.price_age_ms.p99} ms`)]);
    rows.push([`${n}: memory per subscriber`, ...col((r) => `${r.memory_bytes_per_subscriber} B`)]);
    rows.push([`${n}: used_memory seeded, per primary`, ...col((r) => (r.by_primary ? Object.values(r.by_primary).map((p) => `${(p.used_memory_seeded / 1048576).toFixed(1)}`).join(' / ') : (r.used_memory_seeded / 1048576).toFixed(1)) + ' MB')]);
  }
  const w0 = Math.max(...rows.map(([k]) => k.length));
  const w1 = Math.max(...rows.map(([, a]) => a.length));
  console.log(`\nsustained, one Redis and a local cluster side by side (all on the same ${cpus().length} cores)`);
  console.log('─'.repeat(w0 + w1 + 40));
  for (const [k, a, b] of rows) console.log(`${k.padEnd(w0)}  ${a.padEnd(w1)}  ${b}`);
  console.log('─'.repeat(w0 + w1 + 40));
}
