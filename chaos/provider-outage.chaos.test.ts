/**
 * Scenario 2 — the provider goes down while prices keep ticking. The ticker ticks twice a second
 * for 200 SMS subscribers; for 30 s (10 s quick) the simulator first answers every send with a
 * 5xx (mode `error`), then for the second half drops every connection without an answer (mode
 * `reset`), then recovers. Guarantees: no subscription lost; the send queue never holds more
 * waiting jobs than there are subscriptions (latest value wins); after recovery every
 * subscriber's last message carries the final price; no send job ends failed.
 */
import { afterAll, expect, test } from 'vitest';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type System } from './support.ts';

const N = 200;
const OUTAGE_S = QUICK ? 10 : 30;
const HALF_MS = (OUTAGE_S * 1000) / 2;
let sys: System | undefined;
/** Send jobs left failed at the end, for the requirement test below. */
let failedAtEnd: number | undefined;

afterAll(async () => {
  await sys?.stop();
});

test(`a ${OUTAGE_S} s provider outage (5xx, then connection resets) under steady ticking: nothing lost, queue bounded, final price delivered`, async () => {
  sys = await startSystem({
    dispatchers: 1,
    env: { SIMULATOR_STATUS_WEBHOOKS: 'off', LOG_LEVEL: 'warn', TICK_INTERVAL_MS: '500' },
    dispatcherEnv: { SMS_RATE_PER_SEC: '2000' },
  });
  const s = sys;
  const addresses = await seedSmsSubscribers(s, N);
  await s.startProc('ticker', 'apps/ticker/src/main.ts');

  await until('sends flowing', async () => (await s.stats()).channels.sms!.accepted >= N, 30_000);
  await s.faults({ outage: { seconds: HALF_MS / 1000, mode: 'error' } });
  const outageStart = Date.now();
  const outageEnd = outageStart + OUTAGE_S * 1000;

  // Sample the send queue through the outage and a little after; switch to resets half way.
  let maxPending = 0;
  let maxActive = 0;
  let maxFailed = 0;
  let samples = 0;
  let resetsFrom = 0;
  let acceptedAtEnd: number | undefined;
  let firstAcceptedAfter: number | undefined;
  const sampleUntil = outageEnd + 3000;
  while (Date.now() < sampleUntil && samples < 2000) {
    if (!resetsFrom && Date.now() >= outageStart + HALF_MS) {
      await s.faults({ outage: { seconds: (outageEnd - Date.now()) / 1000, mode: 'reset' } });
      resetsFrom = Date.now();
    }
    const c = await s.sendCounts();
    maxPending = Math.max(maxPending, (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0));
    maxActive = Math.max(maxActive, c.active ?? 0);
    maxFailed = Math.max(maxFailed, c.failed ?? 0);
    // Delivery resuming: the first send the simulator accepts after the outage.
    if (Date.now() >= outageEnd) {
      const accepted = (await s.stats()).channels.sms!.accepted;
      acceptedAtEnd ??= accepted;
      if (firstAcceptedAfter === undefined && accepted > acceptedAtEnd) firstAcceptedAfter = Date.now();
    }
    samples++;
    await sleep(200);
  }
  const outageStats = await s.stats();

  // Stop ticking; the last price is what everyone must end on.
  const ticker = s.procs.find((p) => p.name === 'ticker')!;
  expect((await s.terminate(ticker)).code).toBe(0);
  const final = (await s.prices.get('MSFT'))!;
  const finalText = `MSFT ${final.price.toFixed(2)}`;

  let onFinal = 0;
  await until(
    'every subscriber to end on the final price',
    async () => {
      const per = byRecipient(await s.messages());
      onFinal = addresses.filter((a) => per.get(a)?.at(-1)?.display.startsWith(finalText)).length;
      const c = await s.sendCounts();
      return onFinal === N && !c.active && !c.waiting && !c.prioritized && !c.delayed;
    },
    90_000,
  );
  const recoveredMs = Date.now() - outageEnd;

  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const counts = await s.sendCounts();
  // Per subscriber: outage end → their first message after it (the backoff each job was left with).
  const per = byRecipient(await s.messages());
  const resumeMs = addresses
    .map((a) => per.get(a)?.find((m) => Date.parse(m.acceptedAt) >= outageEnd))
    .map((m) => (m ? Date.parse(m.acceptedAt) - outageEnd : Infinity))
    .sort((x, y) => x - y);
  const failedJob = (await s.queues.send.sms.getFailed(0, 0))[0];
  const figures = {
    subscribers: N,
    outageSeconds: OUTAGE_S,
    outageErrors: outageStats.faults.outageErrors,
    outageResets: outageStats.faults.resets,
    errorPhaseMs: resetsFrom - outageStart,
    samples,
    maxPendingSendJobs: maxPending,
    maxActiveSendJobs: maxActive,
    finalPrice: final.price,
    finalVersion: final.version,
    recipientsOnFinalPrice: onFinal,
    subscriptionsAfter: subscribed,
    maxFailedSendJobsDuringOutage: maxFailed,
    failedSendJobs: counts.failed ?? 0,
    messagesSent: (await s.stats()).channels.sms!.accepted,
    outageEndToFirstAcceptedMs: firstAcceptedAfter === undefined ? null : firstAcceptedAfter - outageEnd,
    resumePerSubscriberMs: { p50: resumeMs[Math.floor(N / 2)], p90: resumeMs[Math.floor(N * 0.9)], max: resumeMs.at(-1) },
    outageEndToAllOnFinalMs: recoveredMs,
    aFailedJob: failedJob && { attemptsMade: failedJob.attemptsMade, failedReason: failedJob.failedReason },
  };
  report('provider-outage', figures);

  expect(outageStats.faults.outageErrors).toBeGreaterThan(0);
  expect(outageStats.faults.resets).toBeGreaterThan(0);
  expect(subscribed).toBe(N);
  expect(maxPending).toBeLessThanOrEqual(N);
  expect(onFinal).toBe(N);
  failedAtEnd = counts.failed ?? 0;
});

/*
 * The issue's requirement: no job left failed that should have been retried. A 30 s outage
 * outlasts the send jobs' retry budget (6 attempts, backoff 1 s × 2ⁿ), so this holds because the
 * dispatcher stops spending attempts once the provider looks down (three failures in a row on a
 * channel): the queue rests between probes instead (apps/dispatcher/src/provider-breaker.ts).
 */
test(`no send job left failed after the ${OUTAGE_S} s outage`, () => {
  expect(failedAtEnd).toBe(0);
});
