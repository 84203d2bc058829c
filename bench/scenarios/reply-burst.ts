/**
 * Scenario 7b — a burst of replies under a running feed: 1,000 SMS subscribers ticking every
 * second (so the SMS queue always holds a feed backlog), SMS limited to 20 a second in the
 * dispatcher and in the simulator; then 400 fresh numbers text MSFT to the ingress within about
 * two seconds (each one's subscription confirmation is a reply), and HELPs from other fresh numbers
 * arrive while those confirmations wait. What reached the simulator, and when, gives:
 * - the drain: first webhook of the burst → last confirmation accepted (target ≤ 1.15 × 400 / 20 s);
 * - each HELP's wait against the replies ahead of it when it arrived (queued and not yet accepted),
 *   as the rate at which those went: target ≥ 90% of the channel's rate;
 * - the feed's share while replies waited (its floor), and its rate once they were drained.
 */
import { postInboundSms, seedSubscribers, tickLoop } from '../lib/load.ts';
import { sleep, waitFor } from '../lib/procs.ts';
import { round } from '../lib/stats.ts';
import type { BenchSystem, SimMessage } from '../lib/system.ts';


export interface ReplyBurstOptions {
  feedSubscribers: number;
  limit: number;
  confirmations: number;
  /** Over how long the burst's webhooks are posted. */
  burstMs: number;
  /** When each HELP is posted, ms after the burst's first webhook. */
  helpsAtMs: number[];
}

export async function runReplyBurst(sys: BenchSystem, opts: ReplyBurstOptions) {
  await sys.reset();
  await sys.simLimits({ sms: opts.limit });
  await Promise.all([
    sys.startIngress(),
    sys.startDispatchers({ env: { SMS_RATE_PER_SEC: String(opts.limit) } }),
    seedSubscribers(sys, { symbol: 'FEED', n: opts.feedSubscribers, series: 51, mix: [{ channel: 'sms', share: 1 }] }),
  ]);
  const expectedS = opts.confirmations / opts.limit;
  const feedSeconds = expectedS * 2 + 20;
  const loop = tickLoop(sys, { symbol: 'FEED', intervalMs: 1000, maxTicks: feedSeconds, maxMs: feedSeconds * 1000, priceOf: (i) => 100 + i });
  try {
    // The backlog is the due index's: the queue holds the refill's watermark of it (2 s of the rate), not half the feed.
    await waitFor('a feed backlog at the watermark', async () => (await sys.pendingSends()).byChannel.sms >= 2 * opts.limit, 30_000, 50);
    const confirmNumbers = Array.from({ length: opts.confirmations }, (_, k) => `4477009${String(20_000 + k).padStart(5, '0')}`);
    const helpNumbers = opts.helpsAtMs.map((_, k) => `4477009${String(30_000 + k).padStart(5, '0')}`);
    const postedAt = new Map<string, number>();

    const first = Date.now();
    // The burst: eight at a time, spread over burstMs, as people answering an advert would.
    let next = 0;
    const lane = async () => {
      while (next < confirmNumbers.length) {
        const k = next++;
        const due = first + (k * opts.burstMs) / confirmNumbers.length;
        if (due > Date.now()) await sleep(due - Date.now());
        postedAt.set(confirmNumbers[k]!, (await postInboundSms(sys, confirmNumbers[k]!, 'MSFT')).at);
      }
    };
    const helps = opts.helpsAtMs.map(async (atMs, k) => {
      await sleep(Math.max(0, first + atMs - Date.now()));
      postedAt.set(helpNumbers[k]!, (await postInboundSms(sys, helpNumbers[k]!, 'HELP')).at);
    });
    await Promise.all([...Array.from({ length: 8 }, lane), ...helps]);

    const replyTo = new Set([...confirmNumbers, ...helpNumbers]);
    let messages: SimMessage[] = [];
    await waitFor(
      'every confirmation and HELP answered',
      async () => {
        ({ messages } = await sys.simMessages({ channel: 'sms', since: first, limit: 100_000 }));
        return new Set(messages.filter((m) => replyTo.has(m.to)).map((m) => m.to)).size === replyTo.size;
      },
      expectedS * 1000 * 3 + 30_000,
      250,
    );
    // A few seconds more of the feed alone, to see it take the whole channel again.
    await sleep(3000);
    ({ messages } = await sys.simMessages({ channel: 'sms', since: first, limit: 100_000 }));
    const accepted = messages.map((m) => ({ to: m.to, at: Date.parse(m.acceptedAt), kind: replyTo.has(m.to) ? 'reply' : 'feed' }));
    accepted.sort((a, b) => a.at - b.at);
    const firstAnswer = new Map<string, number>();
    for (const m of accepted) if (m.kind === 'reply' && !firstAnswer.has(m.to)) firstAnswer.set(m.to, m.at);

    const lastConfirmation = Math.max(...confirmNumbers.map((n) => firstAnswer.get(n)!));
    const drainS = (lastConfirmation - first) / 1000;
    const confirmPosted = confirmNumbers.map((n) => postedAt.get(n)!);
    const helpRows = helpNumbers.map((n) => {
      const at = postedAt.get(n)!;
      // Replies ahead: the confirmations posted before the HELP and not yet accepted when it came.
      const ahead = confirmNumbers.filter((c) => postedAt.get(c)! < at && firstAnswer.get(c)! > at).length;
      const waitMs = firstAnswer.get(n)! - at;
      return { posted_after_ms: at - first, ahead, wait_ms: waitMs, bound_ms: Math.round((ahead * 1000) / (0.9 * opts.limit)), rate_per_s: ahead > 0 ? round((ahead * 1000) / waitMs, 2) : null };
    });

    const whileWaiting = accepted.filter((m) => m.at >= first && m.at <= lastConfirmation);
    const feedWhile = whileWaiting.filter((m) => m.kind === 'feed').length;
    const after = accepted.filter((m) => m.at > lastConfirmation + 500);
    const afterSpanS = after.length > 1 ? (after.at(-1)!.at - after[0]!.at) / 1000 : NaN;
    const result = {
      feed_subscribers: opts.feedSubscribers,
      limit: opts.limit,
      confirmations: opts.confirmations,
      burst_posted_s: round((Math.max(...confirmPosted) - first) / 1000, 2),
      drain_s: round(drainS, 2),
      drain_target_s: round(1.15 * expectedS, 2),
      /** Sends per second while replies waited (replies and feed), and the feed's part of them. */
      sends_per_s_while_waiting: round(whileWaiting.length / drainS, 2),
      feed_share_while_waiting: round(feedWhile / whileWaiting.length, 3),
      feed_per_s_while_waiting: round(feedWhile / drainS, 2),
      feed_per_s_after: round(after.filter((m) => m.kind === 'feed').length / afterSpanS, 2),
      helps: helpRows,
      /** The worst HELP: its wait over what the replies ahead of it take at 90% of the channel's rate (≤ 1 meets the target). */
      help_wait_over_bound: round(Math.max(...helpRows.map((h) => h.wait_ms / Math.max(1, h.bound_ms))), 3),
      throttled: (await sys.simStats()).channels.sms.throttled,
    };
    console.log(
      `  burst of ${opts.confirmations} confirmations (posted in ${result.burst_posted_s} s) at ${opts.limit}/s under a feed: drained in ${result.drain_s} s (target ≤ ${result.drain_target_s} s); ` +
        `${result.sends_per_s_while_waiting} sends/s meanwhile, the feed ${result.feed_per_s_while_waiting}/s (${(result.feed_share_while_waiting * 100).toFixed(1)}%), after ${result.feed_per_s_after}/s; 429s ${result.throttled}`,
    );
    for (const h of helpRows) console.log(`  HELP at +${h.posted_after_ms} ms: ${h.ahead} replies ahead, answered in ${h.wait_ms} ms (bound at 90% of the rate ${h.bound_ms} ms; ${h.rate_per_s ?? '—'} replies/s)`);
    return result;
  } finally {
    await loop.stop();
    await sys.stopDispatchers();
    await sys.stopIngress();
  }
}
