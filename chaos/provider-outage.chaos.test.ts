/**
 * Scenario 2 — the provider goes down while prices keep ticking. The ticker ticks twice a second
 * for 200 SMS subscribers; the simulator answers every send with a 5xx for 10 s (quick) or 15 s,
 * then recovers. Guarantees: no subscription lost; the send queue never holds more waiting jobs
 * than there are subscriptions (latest value wins); after recovery every subscriber's last
 * message carries the final price; no send job ends failed.
 */
import { afterAll, expect, test } from 'vitest';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, sleep, startSystem, type System } from './support.ts';

const N = 200;
const OUTAGE_S = QUICK ? 10 : 15;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

test(`a ${OUTAGE_S} s provider outage under steady ticking: nothing lost, queue bounded, final price delivered`, async () => {
  sys = await startSystem({
    dispatchers: 1,
    env: { SIMULATOR_STATUS_WEBHOOKS: 'off', LOG_LEVEL: 'warn', TICK_INTERVAL_MS: '500' },
    dispatcherEnv: { SMS_RATE_PER_SEC: '2000' },
  });
  const s = sys;
  const addresses = await seedSmsSubscribers(s, N);
  await s.startProc('ticker', 'apps/ticker/src/main.ts');

  await until('sends flowing', async () => (await s.stats()).channels.sms!.accepted >= N, 30_000);
  await s.faults({ outage: { seconds: OUTAGE_S, mode: 'error' } });
  const outageStart = Date.now();

  // Sample the send queue through the outage and a little after.
  let maxPending = 0;
  let maxActive = 0;
  let samples = 0;
  const sampleUntil = outageStart + (OUTAGE_S + 3) * 1000;
  while (Date.now() < sampleUntil && samples < 1000) {
    const c = await s.sendCounts();
    maxPending = Math.max(maxPending, (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0));
    maxActive = Math.max(maxActive, c.active ?? 0);
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
  const recoveredMs = Date.now() - (outageStart + OUTAGE_S * 1000);

  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const counts = await s.sendCounts();
  const figures = {
    subscribers: N,
    outageSeconds: OUTAGE_S,
    outageErrors: outageStats.faults.outageErrors,
    samples,
    maxPendingSendJobs: maxPending,
    maxActiveSendJobs: maxActive,
    finalPrice: final.price,
    finalVersion: final.version,
    recipientsOnFinalPrice: onFinal,
    subscriptionsAfter: subscribed,
    failedSendJobs: counts.failed ?? 0,
    messagesSent: (await s.stats()).channels.sms!.accepted,
    outageEndToAllOnFinalMs: recoveredMs,
  };
  report('provider-outage', figures);

  expect(outageStats.faults.outageErrors).toBeGreaterThan(0);
  expect(subscribed).toBe(N);
  expect(maxPending).toBeLessThanOrEqual(N);
  expect(onFinal).toBe(N);
  expect(counts.failed ?? 0).toBe(0);
});
