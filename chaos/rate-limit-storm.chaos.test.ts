/**
 * Scenario 3 — a 429 storm: for 5 s the simulator answers every send 429 with Retry-After 1. A
 * fan-out starts inside the storm. Guarantee: afterwards every subscriber has the price and no
 * job failed (a 429 pauses the channel without spending an attempt).
 */
import { afterAll, expect, test } from 'vitest';
import { fanoutJobId } from '@tickercast/shared';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, startSystem, type System } from './support.ts';

const N = QUICK ? 200 : 1000;
const STORM_S = 5;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

test(`a ${STORM_S} s 429 storm (Retry-After 1) during a fan-out to ${N}: all delivered, nothing failed`, async () => {
  sys = await startSystem({
    dispatchers: 2,
    env: { SIMULATOR_STATUS_WEBHOOKS: 'off', LOG_LEVEL: 'warn' },
    dispatcherEnv: { SMS_RATE_PER_SEC: '500' },
  });
  const s = sys;
  const addresses = await seedSmsSubscribers(s, N);
  await s.faults({ storm: { seconds: STORM_S, retryAfter: 1 } });
  const stormStart = Date.now();
  const quote = await s.prices.set('MSFT', 321.09);
  await s.queues.fanout.add('fanout', { symbol: 'MSFT', version: quote.version, tickedAt: stormStart }, { jobId: fanoutJobId(quote) });

  let got = 0;
  await until(
    'every subscriber to have the price',
    async () => {
      const per = byRecipient(await s.messages());
      got = addresses.filter((a) => per.get(a)?.some((m) => m.display.startsWith('MSFT 321.09'))).length;
      const c = await s.sendCounts();
      return got === N && !c.active && !c.waiting && !c.prioritized && !c.delayed;
    },
    120_000,
  );
  const doneAt = Date.now();
  const stats = await s.stats();
  const counts = await s.jobCounts();
  const per = byRecipient(await s.messages());
  const figures = {
    subscribers: N,
    stormSeconds: STORM_S,
    responses429: stats.faults.storm,
    accepted: stats.channels.sms!.accepted,
    recipientsWithPrice: got,
    duplicates: [...per.values()].reduce((n, l) => n + l.length - 1, 0),
    failedJobs: counts.failed ?? 0,
    stormEndToAllDeliveredMs: doneAt - (stormStart + STORM_S * 1000),
  };
  report('rate-limit-storm', figures);

  expect(stats.faults.storm).toBeGreaterThan(0);
  expect(got).toBe(N);
  expect(counts.failed ?? 0).toBe(0);
});
