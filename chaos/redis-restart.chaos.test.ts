/**
 * Scenario 5 — Redis restarts under the running system. A dedicated redis-server with AOF
 * (appendfsync always) on its own port and directory; a phone subscribes through the webhooks,
 * SMS subscribers are seeded and a fan-out is queued with a delay; Redis is stopped (SIGTERM)
 * and started again on the same port and directory. Guarantees: the ingress reports not-ready
 * while Redis is away and ready again after; the subscriptions and the queued job survived; a
 * new inbound webhook is processed end to end; the delayed fan-out then reaches everyone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { fanoutJobId, subscriberId } from '@tickercast/shared';
import { freePort, portIsOpen, until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type System } from './support.ts';

const N = QUICK ? 100 : 500;
const DOWN_MS = QUICK ? 2000 : 5000;
let sys: System | undefined;
let redisProc: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tickercast-chaos-redis-'));

function startRedis(port: number): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

afterAll(async () => {
  await sys?.stop();
  if (redisProc) await stopRedis(redisProc);
  rmSync(dir, { recursive: true, force: true });
});

async function readyz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

test(`Redis restarted (${DOWN_MS / 1000} s down): every process reconnects, subscriptions and queued jobs survive`, async () => {
  const port = await freePort();
  redisProc = startRedis(port);
  await until('redis-server', () => portIsOpen(port), 10_000);
  const url = `redis://127.0.0.1:${port}`;
  sys = await startSystem({ redisUrl: url, dispatchers: 1, env: { LOG_LEVEL: 'warn' } });
  const s = sys;

  const phoneSubscribes = async (number: string) => {
    await s.sim(`/_sim/phones/sms/${number}/send`, { method: 'POST', body: { text: 'MSFT' } });
    await until(`${number} subscribed`, () => s.store.isSubscribed(subscriberId('sms', number), 'MSFT'), 30_000);
  };
  await s.prices.set('MSFT', 250.5);
  await phoneSubscribes('447700900501');
  const addresses = await seedSmsSubscribers(s, N);
  const quote = await s.prices.set('MSFT', 251.75);
  const delayMs = DOWN_MS + 10_000;
  await s.queues.fanout.add('fanout', { symbol: 'MSFT', version: quote.version, tickedAt: Date.now() }, { jobId: fanoutJobId(quote), delay: delayMs });
  const fanoutDueAt = Date.now() + delayMs;

  // Redis goes away.
  const downAt = Date.now();
  await stopRedis(redisProc);
  let notReady = 0;
  while (Date.now() - downAt < DOWN_MS) {
    if ((await readyz(s.ingressUrl)) !== 200) notReady++;
    await sleep(250);
  }
  redisProc = startRedis(port);
  await until('redis-server back', () => portIsOpen(port), 10_000);
  const upAt = Date.now();
  await until('ingress /readyz 200', async () => (await readyz(s.ingressUrl)) === 200, 30_000);
  const readyAt = Date.now();

  // What was in Redis before is still there.
  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const fanoutState = await s.queues.fanout.getJobState(fanoutJobId(quote));

  // A new inbound webhook goes through ingress → queue → dispatcher.
  await phoneSubscribes('447700900502');
  const newInboundMs = Date.now() - upAt;

  // The delayed fan-out runs after the restart and reaches every subscriber.
  const everyone = [...addresses, '447700900501', '447700900502'];
  let got = 0;
  await until(
    'the delayed fan-out to reach everyone',
    async () => {
      const per = byRecipient(await s.messages());
      got = everyone.filter((a) => per.get(a)?.some((m) => m.display.includes('MSFT 251.75'))).length;
      return got === everyone.length;
    },
    90_000,
  );
  const counts = await s.jobCounts();
  const alive = s.procs.filter((p) => p.spawned.child.exitCode === null).map((p) => p.name);
  report('redis-restart', {
    seededSubscribers: N,
    downMs: upAt - downAt,
    readyzNotReadySamples: notReady,
    redisUpToReadyzMs: readyAt - upAt,
    subscriptionsAfterRestart: subscribed,
    fanoutJobStateAfterRestart: fanoutState,
    redisUpToNewInboundProcessedMs: newInboundMs,
    fanoutDelayAfterDueMs: Date.now() - fanoutDueAt,
    recipientsWithPrice: got,
    failedJobs: counts.failed ?? 0,
    processesAlive: alive,
  });

  expect(notReady).toBeGreaterThan(0);
  expect(subscribed).toBe(N + 1);
  expect(fanoutState).toBe('delayed');
  expect(got).toBe(everyone.length);
  expect(counts.failed ?? 0).toBe(0);
  expect(alive.sort()).toEqual(['dispatcher-1', 'ingress', 'simulator']);
});
