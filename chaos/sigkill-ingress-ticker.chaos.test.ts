/**
 * Scenario 8 — SIGKILL of the ingress and of the ticker under load. The ticker ticks twice a
 * second for 100 seeded SMS subscribers, the simulator posts a status webhook for every send, and
 * phones text MSFT through the simulator at a steady pace (300 quick, 1,000 full) while:
 *  - the ingress is SIGKILLed a third of the way through and started again 1 s later: webhooks
 *    answered 200 before the kill are in Redis; those that got no answer are retried by the
 *    simulator (as Vonage retries) and must be processed once all the same;
 *  - the ticker is SIGKILLed two thirds of the way through (maybe between a price write and its
 *    fan-out) and started again 1 s later: ticking resumes and no subscription is lost.
 * Then the ticker stops (SIGTERM) and everyone — seeded and new — must end on the final price.
 */
import { afterAll, expect, test } from 'vitest';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type Proc, type System } from './support.ts';

const SEEDED = 100;
const PHONES = QUICK ? 300 : 1000;
const PHONES_PER_SEC = QUICK ? 50 : 100;
const DOWN_MS = 1000;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

interface SimWebhookStats {
  webhooks: Record<string, { attempts: number; delivered: number; retries: number; failed: number; pending: number }>;
}

const ready = async (url: string) => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok;

test(`SIGKILL of the ingress and of the ticker under load: every accepted webhook processed once, ticking resumes, no subscription lost`, async () => {
  sys = await startSystem({
    dispatchers: 1,
    env: {
      LOG_LEVEL: 'warn',
      TICK_INTERVAL_MS: '500',
      VONAGE_SIGNATURE_SECRET: 'chaos-sigkill-signature-secret-0123456789',
      SIMULATOR_STATUS_DELAY_MS: '50',
      SIMULATOR_WEBHOOK_RETRIES: '8',
      SIMULATOR_WEBHOOK_RETRY_BASE_MS: '300',
    },
    dispatcherEnv: { SMS_RATE_PER_SEC: '2000' },
  });
  const s = sys;
  const seeded = await seedSmsSubscribers(s, SEEDED);
  let ticker: Proc = await s.startProc('ticker', 'apps/ticker/src/main.ts');
  await until('sends flowing', async () => (await s.stats()).channels.sms!.accepted >= SEEDED, 30_000);

  // Phones text MSFT at a steady pace; each send answers the outcome of its webhook's first try.
  const phones = Array.from({ length: PHONES }, (_, i) => `4477007${String(i).padStart(5, '0')}`);
  const firstTry: (number | string | undefined)[] = [];
  let launched = 0;
  const loadStart = Date.now();
  const load = (async () => {
    const sends: Promise<void>[] = [];
    for (const [i, phone] of phones.entries()) {
      await sleep(loadStart + (i * 1000) / PHONES_PER_SEC - Date.now());
      launched++;
      sends.push(
        s.sim<{ webhook: number | string }>(`/_sim/phones/sms/${phone}/send`, { method: 'POST', body: { text: 'MSFT' } }).then((r) => {
          firstTry[i] = r.webhook;
        }),
      );
    }
    await Promise.all(sends);
  })();

  // The ingress: SIGKILL a third of the way through, back after DOWN_MS.
  await until('a third of the phones', () => launched >= PHONES / 3, 60_000);
  const ingress = s.procs.find((p) => p.name === 'ingress')!;
  ingress.spawned.child.kill('SIGKILL');
  const ingressExit = await ingress.spawned.exited;
  const ingressKilledAt = Date.now();
  await sleep(DOWN_MS);
  await s.startProc('ingress', 'apps/ingress/src/main.ts');
  await until('ingress /readyz after the restart', () => ready(s.ingressUrl), 30_000);
  const ingressDownMs = Date.now() - ingressKilledAt;

  // The ticker: SIGKILL two thirds of the way through, back after DOWN_MS.
  await until('two thirds of the phones', () => launched >= (2 * PHONES) / 3, 60_000);
  ticker.spawned.child.kill('SIGKILL');
  const tickerExit = await ticker.spawned.exited;
  const tickerKilledAt = Date.now();
  const versionAtKill = (await s.prices.get('MSFT'))!.version;
  await sleep(DOWN_MS);
  ticker = await s.startProc('ticker', 'apps/ticker/src/main.ts');
  const resumed = await until('a tick after the restart', async () => ((await s.prices.get('MSFT'))!.version > versionAtKill ? Date.now() : 0), 30_000);

  await load;
  const loadMs = Date.now() - loadStart;
  // Let the new subscribers get a few ticks, then stop ticking: the last price is the final one.
  await sleep(2000);
  expect((await s.terminate(ticker)).code).toBe(0);
  const final = (await s.prices.get('MSFT'))!;
  const finalText = `MSFT ${final.price.toFixed(2)}`;

  const everyone = [...seeded, ...phones];
  // On the final price: the last message carries it, as an update or, for a phone whose MSFT was
  // processed after the last tick, as the price line of its confirmation (then no update follows).
  const carriesFinal = (text: string | undefined) => text?.split('\n').some((line) => line.startsWith(finalText)) ?? false;
  let onFinal = 0;
  let state: unknown;
  await until(
    'every webhook delivered, queues drained, everyone on the final price',
    async () => {
      const per = byRecipient(await s.messages());
      const behind = everyone.filter((a) => !carriesFinal(per.get(a)?.at(-1)?.display));
      onFinal = everyone.length - behind.length;
      const c = await s.jobCounts();
      const w = ((await s.stats()) as unknown as SimWebhookStats).webhooks;
      const pending = Object.values(w).reduce((n, k) => n + k.pending, 0);
      state = { finalText, onFinal, behind: behind.slice(0, 5).map((a) => [a, per.get(a)?.at(-1)?.display ?? null]), pending, jobs: c };
      return onFinal === everyone.length && pending === 0 && !c.active && !c.waiting && !c.prioritized && !c.delayed;
    },
    120_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(state)}`, { cause: err });
  });
  const recoveredMs = Date.now() - loadStart;

  const per = byRecipient(await s.messages());
  const confirmations = phones.map((ph) => (per.get(ph) ?? []).filter((m) => m.display.startsWith('Subscribed to MSFT')).length);
  const answered200 = phones.filter((_, i) => firstTry[i] === 200);
  const processedOf200 = answered200.filter((ph) => confirmations[phones.indexOf(ph)]! >= 1).length;
  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const counts = await s.jobCounts();
  const inbound = await s.queues.inbound.getJobCounts('completed', 'failed');
  const webhooks = ((await s.stats()) as unknown as SimWebhookStats).webhooks;
  report('sigkill-ingress-ticker', {
    seeded: SEEDED,
    phones: PHONES,
    phonesPerSec: PHONES_PER_SEC,
    ingressExit,
    ingressDownMs,
    firstTryAnswered200: answered200.length,
    firstTryNotAnswered: PHONES - answered200.length,
    firstTryOutcomes: [...new Set(firstTry.map(String))],
    tickerExit,
    versionAtTickerKill: versionAtKill,
    tickerKillToNextTickMs: resumed - tickerKilledAt,
    finalVersion: final.version,
    subscribed,
    phonesConfirmedOnce: confirmations.filter((n) => n === 1).length,
    phonesConfirmedTwice: confirmations.filter((n) => n > 1).length,
    inboundJobs: inbound,
    recipientsOnFinalPrice: onFinal,
    webhooks,
    failedJobs: counts.failed ?? 0,
    loadMs,
    loadStartToRecoveredMs: recoveredMs,
  });

  expect(ingressExit.signal).toBe('SIGKILL');
  expect(tickerExit.signal).toBe('SIGKILL');
  // The kill landed under load: some webhooks got no answer on their first try.
  expect(PHONES - answered200.length).toBeGreaterThan(0);
  // Answered 200 before (or after) the kill: processed.
  expect(processedOf200).toBe(answered200.length);
  // Every phone's message, answered or retried by the simulator, processed exactly once.
  expect(confirmations.filter((n) => n === 1).length).toBe(PHONES);
  expect(inbound.completed).toBe(PHONES);
  for (const [kind, w] of Object.entries(webhooks)) expect(w.failed, `${kind} webhooks given up`).toBe(0);
  // Ticking resumed and nobody's subscription was lost.
  expect(final.version).toBeGreaterThan(versionAtKill);
  expect(subscribed).toBe(SEEDED + PHONES);
  expect(onFinal).toBe(everyone.length);
  expect(counts.failed ?? 0).toBe(0);
});
