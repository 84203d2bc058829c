/**
 * Scenario 6 — rate-limit precision: SMS limited to L a second in the dispatcher and, counting
 * any rolling second, in the simulator; a backlog of 3 × L × duration sends; over the measured
 * window, the achieved rate as a fraction of L, the most the simulator accepted in any rolling
 * second, and its 429s (must be zero).
 */
import { sendSpacingMs } from '@tickercast/shared';
import { seedSubscribers, tick } from '../lib/load.ts';
import { sleep, waitFor } from '../lib/procs.ts';
import { round } from '../lib/stats.ts';
import type { BenchSystem } from '../lib/system.ts';

export async function runRateLimit(sys: BenchSystem, opts: { limit: number; seconds: number }) {
  await sys.reset();
  const L = opts.limit;
  await sys.simLimits({ sms: L });
  const backlog = 3 * L * opts.seconds;
  await Promise.all([
    sys.startDispatchers({ env: { SMS_RATE_PER_SEC: String(L) } }),
    seedSubscribers(sys, { symbol: 'RATE', n: backlog, series: 40, mix: [{ channel: 'sms', share: 1 }] }),
  ]);
  try {
    await tick(sys, 'RATE', 100);
    await waitFor('the first acceptance', async () => (await sys.simStats()).channels.sms.accepted > 0, 30_000, 20);
    await sleep(500);
    const a = { at: performance.now(), stats: (await sys.simStats()).channels.sms };
    await sleep(opts.seconds * 1000);
    const b = { at: performance.now(), stats: (await sys.simStats()).channels.sms };
    const achieved = (b.stats.accepted - a.stats.accepted) / ((b.at - a.at) / 1000);
    const result = {
      limit: L,
      seconds: opts.seconds,
      backlog,
      achieved: round(achieved),
      fraction: round(achieved / L, 3),
      /** What the dispatcher's pacing (one send per sendSpacingMs) allows at most. */
      pacing_ceiling: round(1000 / sendSpacingMs(L)),
      max_per_rolling_second: b.stats.maxPerSecond,
      throttled: b.stats.throttled,
      pending_at_end: (await sys.pendingSends()).total,
    };
    console.log(
      `  rate limit ${L}/s: achieved ${result.achieved}/s (${(result.fraction * 100).toFixed(1)}%, pacing allows ${result.pacing_ceiling}/s), ` +
        `max in a rolling second ${result.max_per_rolling_second}, 429s ${result.throttled}`,
    );
    return result;
  } finally {
    await sys.stopDispatchers();
  }
}
