/**
 * Micro-benchmarks of the dispatcher's own code paths, in the bench process against the bench's
 * Redis, so that a change to them shows above the noise of the whole system:
 *  - send path: the dispatcher's send processor (buildDispatcher, its workers not running) on
 *    price jobs with a provider stub that answers at once (no HTTP), real Redis reads and
 *    writes: CPU per job in this process;
 *  - refill: a tick's job (which wakes the refill) and the refill rounds after it, with every
 *    channel at the configuration's maximum rate (a watermark of 20,000) and N due subscribers,
 *    nothing consuming: time, CPU in this process and in Redis per feed send queued;
 *  - the Messages API client: CPU per request of MessagesClient.send (undici) against the
 *    simulator, next to a bare node:http request with the same body — what the HTTP layer costs.
 * Nothing else runs in the bench process meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createAuthorizer, MessagesClient, type AuthConfig, type OutboundMessage } from '@tickercast/messages-client';
import { createLogger, loadConfig, senderFor, type SendJob } from '@tickercast/shared';
import { buildDispatcher, type Dispatcher } from '../../apps/dispatcher/src/dispatcher.ts';
import type { Pace } from '../../apps/dispatcher/src/send.ts';
import { seedSubscribers } from '../lib/load.ts';
import { round } from '../lib/stats.ts';
import { NAMESPACE, type BenchSystem } from '../lib/system.ts';
import { MAX_RATE_ENV } from './fanout.ts';

/**
 * The dispatcher as every process builds it (the configuration's defaults and `env`, on the
 * bench's Redis) with its workers never running: the bench calls its processors itself, with nothing else in
 * the process. The client is the caller's (a stub).
 */
function idleDispatcher(sys: BenchSystem, client: MessagesClient, env: Record<string, string> = {}): Promise<Dispatcher> {
  const config = loadConfig({ REDIS_URL: sys.redisUrl, REDIS_NAMESPACE: NAMESPACE, LOG_LEVEL: 'silent', ...env });
  return buildDispatcher(config, { client, autorun: false, logger: createLogger('bench', 'silent') });
}
const SENDERS = senderFor(loadConfig({}));

/** Runs `total` calls of `op`, `concurrency` at a time; CPU µs of this process per call, and calls per second. */
async function measure(total: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await op(next++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const s = (performance.now() - t0) / 1000;
  return { n: total, cpu_us_per_op: round((cpu.user + cpu.system) / total, 1), ops_per_s: round(total / s, 0) };
}

async function sendPath(sys: BenchSystem, subscribers: number, rounds: number) {
  const symbol = 'MICRO';
  const { ids } = await seedSubscribers(sys, { symbol, n: subscribers, series: 80, mix: [{ channel: 'sms', share: 1 }] });
  const stub = { send: async (_m: OutboundMessage) => ({ messageUuid: randomUUID() }) } as unknown as MessagesClient;
  const d = await idleDispatcher(sys, stub);
  const send = d.processors.send;
  // No schedule to wait for: the figure is the send path's own cost.
  const unpaced: Pace = () => Promise.resolve({ waitedMs: 0 });
  let sent = 0;
  const run = async (round: number) => {
    await sys.prices.set(symbol, 100 + round);
    return measure(ids.length, 50, async (i) => {
      const job: SendJob = { kind: 'feed', subscriberId: ids[i]! };
      const out = await send(job, `micro-${round}-${i}`, unpaced);
      if (out.kind === 'sent') sent++;
    });
  };
  const results = [];
  try {
    await run(0); // warm-up
    for (let r = 1; r <= rounds; r++) results.push(await run(r));
  } finally {
    await d.close();
  }
  if (sent !== subscribers * (rounds + 1)) throw new Error(`send path: ${sent} sent of ${subscribers * (rounds + 1)}`);
  const best = results.sort((a, b) => a.cpu_us_per_op - b.cpu_us_per_op)[Math.floor(results.length / 2)]!;
  return { jobs_per_round: subscribers, rounds, median_cpu_us_per_job: best.cpu_us_per_op, median_jobs_per_s: best.ops_per_s, all: results };
}

/**
 * N due subscribers (N at most the watermark, so that all of them can be queued), a price
 * written, then the tick's job run by hand and the refill asked again (as its own timer would) until a
 * feed send is queued for each: what the refill costs per send it queues.
 */
async function refillPath(sys: BenchSystem, n: number) {
  const symbol = 'MICROF';
  await seedSubscribers(sys, { symbol, n, series: 81 });
  const d = await idleDispatcher(sys, {} as MessagesClient, MAX_RATE_ENV);
  const queued = async () => (await Promise.all(Object.values(sys.queues.send).map((q) => q.getPrioritizedCount()))).reduce((a, b) => a + b, 0);
  try {
    const watermark = d.refiller.watermark('sms');
    if (n > watermark) throw new Error(`refill micro-benchmark: ${n} subscribers is more than the watermark (${watermark})`);
    const q = await sys.prices.set(symbol, 100);
    const redis0 = await sys.redisCpuSeconds();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await d.processors.fanout({ symbol, version: q.version, tickedAt: q.tickedAt });
    let rounds = 1;
    while ((await queued()) < n) {
      if (rounds++ > 2 * Math.ceil(n / 2000) + 10) throw new Error(`refill: ${await queued()} of ${n} feed sends queued after ${rounds} rounds`);
      await d.refiller.wake();
    }
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await sys.redisCpuSeconds()) - redis0;
    const added = await queued();
    if (added !== n) throw new Error(`refill: ${added} of ${n} feed sends queued`);
    return {
      n,
      rounds,
      queued_s: round(s, 3),
      cpu_s: round((cpu.user + cpu.system) / 1e6, 2),
      cpu_us_per_send: round((cpu.user + cpu.system) / n, 1),
      redis_cpu_us_per_send: round((redisCpu * 1e6) / n, 1),
    };
  } finally {
    await d.close();
    await Promise.all([sys.queues.fanout, ...Object.values(sys.queues.send)].map((q) => q.obliterate({ force: true })));
  }
}

async function clientCost(sys: BenchSystem, auth: AuthConfig, requests: number) {
  const message = (i: number): OutboundMessage => ({ channel: 'sms', to: `4477009${String(i % 100_000).padStart(5, '0')}`, from: SENDERS.sms, text: 'MSFT 412.30 ▲ +1.20 (+0.29%)', clientRef: `micro-${i}` });
  const client = new MessagesClient({ baseUrl: sys.simUrl, auth });
  const authorization = await createAuthorizer(auth).header();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(sys.simUrl);
  const bare = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const m = message(i);
      const body = JSON.stringify({ message_type: 'text', channel: m.channel, to: m.to, from: m.from, text: 'text' in m ? m.text : '', client_ref: m.clientRef });
      const headers = { authorization, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = request({ agent, host: url.hostname, port: url.port, path: '/v1/messages', method: 'POST', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => (res.statusCode === 202 && (JSON.parse(text) as { message_uuid?: string }).message_uuid ? resolve() : reject(new Error(`${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    await measure(2000, 50, (i) => client.send(message(i))); // warm-up
    await measure(2000, 50, bare);
    const viaClient = await measure(requests, 50, (i) => client.send(message(i)));
    const http = await measure(requests, 50, bare);
    return { requests, concurrency: 50, messages_client: viaClient, node_http: http };
  } finally {
    client.close();
    agent.destroy();
  }
}

export async function runMicro(sys: BenchSystem, opts: { sendSubscribers: number; sendRounds: number; refillN: number; clientRequests: number }) {
  await sys.reset();
  const send = await sendPath(sys, opts.sendSubscribers, opts.sendRounds);
  console.log(`  send path (provider stubbed): ${send.median_cpu_us_per_job} µs CPU per job, ${send.median_jobs_per_s} jobs/s`);
  const refill = await refillPath(sys, opts.refillN);
  console.log(
    `  refill, ${refill.n} due subscribers, nothing consuming: queued in ${refill.queued_s} s (${refill.rounds} rounds), ${refill.cpu_us_per_send} µs CPU here and ${refill.redis_cpu_us_per_send} µs in Redis per send`,
  );
  const client = await clientCost(sys, sys.appAuth(), opts.clientRequests);
  console.log(
    `  Messages API client: MessagesClient.send ${client.messages_client.cpu_us_per_op} µs CPU/request (${client.messages_client.ops_per_s}/s), ` +
      `bare node:http ${client.node_http.cpu_us_per_op} µs (${client.node_http.ops_per_s}/s)`,
  );
  await sys.redis.flushall();
  await sys.simDelete('/_sim/messages');
  return { send, refill, client };
}
