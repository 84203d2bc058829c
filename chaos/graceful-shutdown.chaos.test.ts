/**
 * Scenario 6 — SIGTERM under load. Ticker (2 ticks/s), two dispatchers and the ingress (taking
 * the simulator's status webhooks) run with 200 SMS subscribers and 20 ms provider latency; every
 * one of our processes gets SIGTERM at once. Guarantees: each exits 0; after the ingress and the
 * dispatchers are started again, the queues drain with nothing failed, every subscriber ends on
 * the final price and every status the simulator sent is accepted (after its retries).
 * The simulator, standing in for Vonage, stays up through the restart and is SIGTERMed last.
 */
import { afterAll, expect, test } from 'vitest';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type System } from './support.ts';

const N = 200;
const LOAD_MS = QUICK ? 4000 : 10_000;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

test(`SIGTERM to every process under load: all exit 0, nothing lost after restart`, async () => {
  sys = await startSystem({
    dispatchers: 2,
    env: { LOG_LEVEL: 'warn', TICK_INTERVAL_MS: '500', SIMULATOR_STATUS_DELAY_MS: '50', SIMULATOR_WEBHOOK_RETRY_BASE_MS: '500', SIMULATOR_WEBHOOK_RETRIES: '8' },
    dispatcherEnv: { SMS_RATE_PER_SEC: '1000' },
  });
  const s = sys;
  const addresses = await seedSmsSubscribers(s, N);
  await s.faults({ latencyMs: 20 });
  await s.startProc('ticker', 'apps/ticker/src/main.ts');
  await until('sends flowing', async () => (await s.stats()).channels.sms!.accepted >= N, 30_000);
  await sleep(LOAD_MS);

  const ours = s.procs.filter((p) => p.name !== 'simulator');
  const before = await s.sendCounts();
  const termAt = Date.now();
  const exits = await Promise.all(ours.map(async (p) => ({ name: p.name, ...(await s.terminate(p, 30_000)), ms: Date.now() - termAt })));
  const stoppedIn = Date.now() - termAt;
  const atStop = await s.jobCounts();
  const final = (await s.prices.get('MSFT'))!;
  const finalText = `MSFT ${final.price.toFixed(2)}`;

  // Start the ingress and the dispatchers again (no ticker: the last price stays the final one).
  const restartAt = Date.now();
  await s.startProc('ingress', 'apps/ingress/src/main.ts');
  await until('ingress /readyz', async () => (await fetch(`${s.ingressUrl}/readyz`).catch(() => undefined))?.ok, 30_000);
  await s.startDispatcher();
  await s.startDispatcher();

  let onFinal = 0;
  await until(
    'queues drained and everyone on the final price',
    async () => {
      const per = byRecipient(await s.messages());
      onFinal = addresses.filter((a) => per.get(a)?.at(-1)?.display.startsWith(finalText)).length;
      const c = await s.jobCounts();
      const st = (await s.stats()) as unknown as { webhooks: Record<string, { pending: number }> };
      const pendingWebhooks = Object.values(st.webhooks).reduce((n, w) => n + (w.pending ?? 0), 0);
      return onFinal === N && !c.active && !c.waiting && !c.prioritized && !c.delayed && pendingWebhooks === 0;
    },
    120_000,
  );
  const counts = await s.jobCounts();
  const stats = (await s.stats()) as unknown as { webhooks: Record<string, { attempts: number; delivered: number; retries: number; failed: number }>; channels: Record<string, { accepted: number }> };
  const simExit = await s.terminate(s.procs.find((p) => p.name === 'simulator')!);
  report('graceful-shutdown', {
    subscribers: N,
    sendJobsAtSigterm: before,
    exits: exits.map((e) => `${e.name}:${e.signal ?? e.code}@${e.ms}ms`),
    allStoppedMs: stoppedIn,
    jobsWhileDown: atStop,
    finalPrice: final.price,
    recipientsOnFinalPrice: onFinal,
    restartToDrainedMs: Date.now() - restartAt,
    failedJobs: counts.failed ?? 0,
    accepted: stats.channels.sms!.accepted,
    webhooks: stats.webhooks,
    simulatorExit: simExit.code,
  });

  // The tail of a process's own output names what held it (its grace ran out after 10 s: exit 1).
  for (const e of exits) expect(e, `${e.name}:\n${ours.find((p) => p.name === e.name)!.spawned.output().slice(-3000)}`).toMatchObject({ code: 0, signal: null });
  expect(simExit.code).toBe(0);
  expect(onFinal).toBe(N);
  expect(counts.active).toBe(0);
  expect(counts.failed ?? 0).toBe(0);
  for (const [kind, w] of Object.entries(stats.webhooks)) expect(w.failed, `${kind} webhooks failed`).toBe(0);
});
