/**
 * Scenario 1 — a dispatcher SIGKILLed in the middle of a fan-out to 10,000 SMS subscribers (500
 * quick). Two dispatchers share the send queue; the simulator answers each send after ~20 ms so
 * sends are in flight when one dies.
 * Guarantee: every subscriber still receives the tick's price (at least once), and BullMQ's
 * stalled-job check hands the dead worker's jobs to the survivor: nothing is left active.
 */
import { afterAll, expect, test } from 'vitest';
import { fanoutJobId } from '@tickercast/shared';
import { until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, seedSmsSubscribers, startSystem, type System } from './support.ts';

const N = QUICK ? 500 : 10_000;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

test(`a dispatcher killed mid fan-out to ${N} SMS subscribers: everyone gets the price, nothing stays active`, async () => {
  sys = await startSystem({
    dispatchers: 2,
    env: { SIMULATOR_STATUS_WEBHOOKS: 'off', LOG_LEVEL: 'warn' },
    dispatcherEnv: { SMS_RATE_PER_SEC: '5000', DISPATCHER_CONCURRENCY: '5', LOG_LEVEL: 'info' },
  });
  const s = sys;
  const addresses = await seedSmsSubscribers(s, N);
  await s.faults({ latencyMs: 20 });

  const quote = await s.prices.set('MSFT', 123.45);
  const started = Date.now();
  await s.queues.fanout.add('fanout', { symbol: 'MSFT', version: quote.version, tickedAt: started }, { jobId: fanoutJobId(quote) });

  // Kill one dispatcher once about a quarter of the sends were accepted.
  await until('a quarter of the sends', async () => (await s.stats()).channels.sms!.accepted >= N / 4, 60_000);
  const victim = s.dispatchers[0]!;
  const activeAtKill = (await s.sendCounts()).active ?? 0;
  victim.spawned.child.kill('SIGKILL');
  const killedAt = Date.now();
  const exit = await victim.spawned.exited;
  expect(exit.signal).toBe('SIGKILL');
  const acceptedAtKill = (await s.stats()).channels.sms!.accepted;

  // Stalled-job recovery takes one or two 30 s stalled checks on the survivor.
  let recipients = 0;
  await until(
    'every subscriber to receive the price and nothing to be active',
    async () => {
      const got = byRecipient(await s.messages());
      recipients = addresses.filter((a) => got.get(a)?.some((m) => m.display.startsWith('MSFT 123.45'))).length;
      const counts = await s.jobCounts();
      return recipients === N && counts.active === 0 && counts.waiting === 0 && counts.prioritized === 0 && counts.delayed === 0;
    },
    240_000,
  );
  const recoveredAt = Date.now();

  const msgs = await s.messages();
  const per = byRecipient(msgs);
  const duplicates = [...per.values()].reduce((n, l) => n + Math.max(0, l.length - 1), 0);
  const counts = await s.jobCounts();
  const figures = {
    subscribers: N,
    acceptedAtKill,
    activeSendJobsAtKill: activeAtKill,
    messagesSent: msgs.length,
    recipientsWithPrice: recipients,
    duplicates,
    recipientsWithDuplicate: [...per.values()].filter((l) => l.length > 1).length,
    failedJobs: counts.failed ?? 0,
    killToRecoveredMs: recoveredAt - killedAt,
    totalMs: recoveredAt - started,
  };
  report('worker-killed', figures);

  expect(recipients).toBe(N);
  expect(counts.active).toBe(0);
  expect(counts.failed ?? 0).toBe(0);
  // At least once, never more than the jobs that were in flight when the worker died.
  expect(duplicates).toBeLessThanOrEqual(activeAtKill + 5);
});
