/**
 * Scenario 7 — replies never wait behind the feed: 5,000 SMS subscribers, SMS limited to 20 a
 * second (dispatcher and simulator), a tick every second so that thousands are always due and
 * the refill keeps the SMS queue at its watermark of feed sends (2 s of the rate: 40); then HELP
 * webhooks, ~0.5 s apart, POSTed to the ingress's /webhooks/inbound exactly
 * as the simulator's phone posts them (Messages API v1 inbound JSON; the bench runs no signature
 * secret, so the ingress takes them unsigned). Time from each POST to the simulator accepting
 * the reply.
 */
import { postInboundSms, seedSubscribers, tickLoop } from '../lib/load.ts';
import { sleep, waitFor } from '../lib/procs.ts';
import { percentiles } from '../lib/stats.ts';
import type { BenchSystem } from '../lib/system.ts';


/** Where a reply's time went, from the jobs' own timestamps (median of each stage over the replies). */
async function breakdown(sys: BenchSystem, sent: Map<string, number>, inboundIds: Map<string, string>, replied: Map<string, number>) {
  const stages: Record<string, number[]> = { ingress: [], inbound_wait: [], inbound_run: [], reply_wait: [], reply_send: [] };
  for (const [from, at] of sent) {
    const inbound = await sys.queues.inbound.getJob(inboundIds.get(from)!);
    const reply = await sys.queues.send.sms.getJob(`re-${inboundIds.get(from)!}`);
    const acceptedAt = replied.get(from);
    if (!inbound?.processedOn || !inbound.finishedOn || !reply?.processedOn || acceptedAt === undefined) continue;
    stages.ingress!.push(inbound.timestamp - at);
    stages.inbound_wait!.push(inbound.processedOn - inbound.timestamp);
    stages.inbound_run!.push(inbound.finishedOn - inbound.processedOn);
    stages.reply_wait!.push(reply.processedOn - reply.timestamp);
    stages.reply_send!.push(acceptedAt - reply.processedOn);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return {
    p50: Object.fromEntries(Object.entries(stages).map(([k, xs]) => [k, median(xs)])),
    max: Object.fromEntries(Object.entries(stages).map(([k, xs]) => [k, Math.max(...xs)])),
  };
}

export async function runReplies(sys: BenchSystem, opts: { subscribers: number; limit: number; replies: number; spacingMs: number }) {
  await sys.reset();
  await sys.simLimits({ sms: opts.limit });
  await Promise.all([
    sys.startIngress(),
    sys.startDispatchers({ env: { SMS_RATE_PER_SEC: String(opts.limit) } }),
    seedSubscribers(sys, { symbol: 'FEED', n: opts.subscribers, series: 50, mix: [{ channel: 'sms', share: 1 }] }),
  ]);
  const feedSeconds = (opts.replies * opts.spacingMs) / 1000 + 20;
  const loop = tickLoop(sys, { symbol: 'FEED', intervalMs: 1000, maxTicks: feedSeconds, maxMs: feedSeconds * 1000, priceOf: (i) => 100 + i });
  try {
    // The backlog is the due index's now: the queue holds the refill's watermark of it (2 s of the rate).
    await waitFor('a feed backlog at the watermark', async () => (await sys.pendingSends()).byChannel.sms >= 2 * opts.limit, 30_000, 50);
    const backlogAtStart = (await sys.pendingSends()).byChannel.sms;

    const sent = new Map<string, number>();
    const inboundIds = new Map<string, string>();
    const first = Date.now();
    for (let k = 0; k < opts.replies; k++) {
      const due = first + k * opts.spacingMs;
      if (due > Date.now()) await sleep(due - Date.now());
      const from = `4477009${String(10_000 + k).padStart(5, '0')}`;
      const { at, jobId } = await postInboundSms(sys, from, 'HELP');
      sent.set(from, at);
      inboundIds.set(from, jobId);
    }

    const replied = new Map<string, number>();
    await waitFor(
      'every reply',
      async () => {
        const { messages } = await sys.simMessages({ channel: 'sms', since: first, limit: 100_000 });
        for (const m of messages) if (sent.has(m.to) && !replied.has(m.to)) replied.set(m.to, Date.parse(m.acceptedAt));
        return replied.size === sent.size;
      },
      20_000,
      250,
    ).catch(() => undefined);
    const latencies = [...sent].filter(([n]) => replied.has(n)).map(([n, at]) => replied.get(n)! - at);
    const stages = await breakdown(sys, sent, inboundIds, replied);
    const p = percentiles(latencies);
    const backlogAtEnd = (await sys.pendingSends()).byChannel.sms;
    const result = {
      subscribers: opts.subscribers,
      limit: opts.limit,
      replies: opts.replies,
      answered: latencies.length,
      feed_backlog: { start: backlogAtStart, end: backlogAtEnd },
      p50: p.p50,
      p95: p.p95,
      max: latencies.length === opts.replies ? p.max : Infinity,
      all_ms: latencies,
      /** Median of each stage, ms: webhook to inbound job, waiting and processing in the inbound queue, waiting and sending in the SMS queue (its slot included). */
      stages_p50_ms: stages.p50,
      stages_max_ms: stages.max,
      /** 429s the simulator answered on SMS during the scenario (the feed and the replies share the limit). */
      throttled: (await sys.simStats()).channels.sms.throttled,
    };
    console.log(`  reply stages, p50 ms: ${Object.entries(stages.p50).map(([k, v]) => `${k} ${v}`).join(', ')}; max ms: ${Object.entries(stages.max).map(([k, v]) => `${k} ${v}`).join(', ')}; 429s ${result.throttled}`);
    console.log(
      `  replies: ${result.answered}/${opts.replies} answered behind a feed backlog of ${backlogAtStart}-${backlogAtEnd} SMS at ${opts.limit}/s: p50 ${p.p50} ms, max ${result.max} ms`,
    );
    return result;
  } finally {
    await loop.stop();
    await sys.stopDispatchers();
    await sys.stopIngress();
  }
}
