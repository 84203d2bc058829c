/**
 * Scenario 10 — a Redis Cluster primary SIGKILLed under load. The whole system (simulator,
 * ingress, ticker at 2 ticks/s, 2 dispatchers) runs on a local cluster of its own (3 primaries, a
 * replica each, cluster-node-timeout 2 s); subscribers are seeded on SMS, WhatsApp and Viber (so
 * their (channel, partition) tags spread over every primary), ticks and sends flow, and right after
 * a tick — its fan-out and the sends it wakes in flight — the primary serving the queues' slot
 * (`{q:send-sms}`, which also serves the inbound and fan-out queues and the message log: the hardest one to lose) is SIGKILLed. Its replica takes over.
 * Then the ticker stops. Guarantees: every subscriber ends on the final price; no subscription is
 * lost; no job is left failed, and nothing is left active, waiting, delayed or prioritized; every
 * process is still running; no status webhook given up. Reported (not asserted): kill → the
 * replica's promotion, → the first send after it, → everyone on the final price; duplicates.
 */
import { afterAll, expect, test } from 'vitest';
import { duePartition, MESSAGE_LOG_SHARDS, QUEUE, sendQueueName, type Channel } from '@tickercast/shared';
import { until } from '../test/support/processes.ts';
import { QUICK, report, seedSubscribers, sleep, startSystem, type SimMessage, type System } from './support.ts';

const PER_CHANNEL = QUICK ? 100 : 300;
const CHANNELS: readonly Channel[] = ['sms', 'whatsapp', 'viber_service'];
const NODE_TIMEOUT_MS = 2000;
/** How long the ticker keeps ticking once sends resumed after the failover. */
const TICKING_AFTER_MS = 3000;
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

interface SimWebhookStats {
  webhooks: Record<string, { attempts: number; delivered: number; retries: number; failed: number; pending: number }>;
}

const recipient = (m: SimMessage) => `${m.channel}:${m.to}`;

function perRecipient(messages: SimMessage[]): Map<string, SimMessage[]> {
  const m = new Map<string, SimMessage[]>();
  for (const msg of messages) {
    let l = m.get(recipient(msg));
    if (!l) m.set(recipient(msg), (l = []));
    l.push(msg);
  }
  return m;
}

test(`a Redis Cluster primary (the queues' slot) SIGKILLed under ticks and sends to ${PER_CHANNEL * CHANNELS.length} subscribers: its replica takes over, nothing lost or stuck, everyone ends on the final price`, async () => {
  sys = await startSystem({
    cluster: { nodeTimeoutMs: NODE_TIMEOUT_MS },
    dispatchers: 2,
    env: {
      LOG_LEVEL: 'warn',
      TICK_INTERVAL_MS: '500',
      SIMULATOR_WEBHOOK_RETRIES: '8',
      SIMULATOR_WEBHOOK_RETRY_BASE_MS: '300',
    },
    dispatcherEnv: { SMS_RATE_PER_SEC: '2000', WHATSAPP_RATE_PER_SEC: '2000', VIBER_RATE_PER_SEC: '2000' },
  });
  const s = sys;
  const cluster = s.cluster!;
  const everyone: string[] = [];
  for (const [i, channel] of CHANNELS.entries()) {
    for (const a of await seedSubscribers(s, channel, PER_CHANNEL, 'MSFT', 10_000 * (i + 1))) everyone.push(`${channel}:${a}`);
  }
  const total = everyone.length;
  await s.faults({ latencyMs: 20 });
  const ticker = await s.startProc('ticker', 'apps/ticker/src/main.ts');
  const accepted = async () => Object.values((await s.stats()).channels).reduce((n, c) => n + c.accepted, 0);
  await until('sends flowing', async () => (await accepted()) >= 2 * total, 120_000);

  // The primary serving the queues' slot, the tags it also serves, and its replica.
  const slotOf = async (key: string) => Number(await s.redis.call('CLUSTER', 'KEYSLOT', key));
  const qSlot = await slotOf(s.keys.queuePrefix(sendQueueName('sms')));
  const before = await cluster.view();
  const serves = (n: { slots: [number, number][] }, slot: number) => n.slots.some(([a, b]) => slot >= a && slot <= b);
  const victim = before.find((n) => n.role === 'primary' && serves(n, qSlot))!;
  const replica = before.find((n) => n.primaryId === victim.id)!;
  expect(victim, 'the primary of the SMS queue\'s slot').toBeDefined();
  expect(replica, 'its replica').toBeDefined();
  const tags = [
    ...[QUEUE.inbound, QUEUE.fanout, QUEUE.status, ...Object.values(s.queues.sendQueues).flatMap((qs) => qs.map((q) => q.name))].map((q) => `{q:${q}}`),
    '{prices}',
    ...Array.from({ length: MESSAGE_LOG_SHARDS }, (_, n) => `{msgs:${n}}`),
    ...CHANNELS.map((c) => `{pacing:${c}}`),
    ...CHANNELS.flatMap((c) => [0, 1, 2, 3].map((p) => `{due:${c}:${p}}`)),
  ];
  const victimTags: string[] = [];
  for (const tag of tags) if (serves(victim, await slotOf(`${s.namespace}:${tag}`))) victimTags.push(tag);

  // Kill right after a tick: its fan-out and the sends it wakes are in flight.
  const version = (await s.prices.get('MSFT'))!.version;
  await until('a fresh tick', async () => (await s.prices.get('MSFT'))!.version > version, 30_000);
  const sendCountsAtKill = await s.sendCounts();
  const fanoutAtKill = await s.queues.fanout.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
  const acceptedAtKill = await accepted();
  const killedAt = Date.now();
  await cluster.kill(victim.address);

  // The replica's promotion, as the cluster sees it.
  const promotedAt = await until(
    'the replica promoted',
    async () => {
      const v = await cluster.view().catch(() => []);
      const r = v.find((n) => n.id === replica.id);
      return r?.role === 'primary' && serves(r, qSlot) ? Date.now() : 0;
    },
    120_000,
  );
  // Sends resume: the first request to reach the simulator after the promotion.
  const firstAfter = await until(
    'a send after the promotion',
    async () => (await s.messages()).filter((m) => Date.parse(m.arrivedAt) >= promotedAt).map((m) => Date.parse(m.arrivedAt)).sort((a, b) => a - b)[0],
    120_000,
  );
  await cluster.waitUntilOk(120_000);
  const clusterOkAt = Date.now();

  // A few more ticks after the failover, then the ticker stops: its last price is the final one.
  await sleep(TICKING_AFTER_MS);
  const aliveWhileTicking = s.procs.filter((p) => p.spawned.child.exitCode === null && p.spawned.child.signalCode === null).map((p) => p.name);
  const tickerExit = await s.terminate(ticker);
  const tickerStoppedAt = Date.now();
  const final = (await s.prices.get('MSFT'))!;
  const finalText = `MSFT ${final.price.toFixed(2)}`;
  // On the final price: the last message's text (a template's parameter on WhatsApp) carries it.
  const finalRe = new RegExp(`(^|[\\s\\]·])${finalText.replace('.', '\\.')}(\\s|$)`);
  const carriesFinal = (m: SimMessage | undefined) => (m ? finalRe.test(m.display) : false);

  const failoverFigures = async () => ({
    killed: { node: victim.address, tags: victimTags },
    killedAt: new Date(killedAt).toISOString(),
    killToPromotionMs: promotedAt - killedAt,
    killToFirstSendAfterPromotionMs: firstAfter - killedAt,
    tickerStoppedAt: new Date(tickerStoppedAt).toISOString(),
    finalVersion: final.version,
  });
  /** For a timeout: where the first subscribers behind stand in Redis, and what they were sent when. */
  const diagnose = async () => {
    const per = perRecipient(await s.messages());
    const behind = everyone.filter((r) => !carriesFinal(per.get(r)?.at(-1))).slice(0, 3);
    return Promise.all(
      behind.map(async (id) => {
        const p = duePartition(id);
        const channel = id.slice(0, id.indexOf(':'));
        return {
          id,
          partition: p,
          record: await s.redis.hgetall(s.keys.subscriber(id)),
          dueScore: await s.redis.zscore(s.keys.dueFollowers(channel, p, 'MSFT'), id),
          heldUntil: await s.redis.zscore(s.keys.dueHeld(channel, p), id),
          sent: (per.get(id) ?? []).map((m) => [m.arrivedAt, m.display, (m as unknown as { request?: { client_ref?: string } }).request?.client_ref]),
        };
      }),
    );
  };

  /** Each process's warnings and errors, counted by message (and the error's own message). */
  const problems = () =>
    Object.fromEntries(
      s.procs.map((p) => {
        const seen: Record<string, number> = {};
        for (const line of p.spawned.output().split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const l = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
            if ((l.level ?? 0) < 40) continue;
            const k = `${l.msg ?? ''}${l.err?.message ? `: ${l.err.message.slice(0, 120)}` : ''}`;
            seen[k] = (seen[k] ?? 0) + 1;
          } catch {
            // not a log line
          }
        }
        return [p.name, seen];
      }),
    );

  let state: unknown;
  await until(
    'everyone on the final price, queues drained, no webhook pending',
    async () => {
      const per = perRecipient(await s.messages());
      const behind = everyone.filter((r) => !carriesFinal(per.get(r)?.at(-1)));
      const c = await s.jobCounts();
      const w = ((await s.stats()) as unknown as SimWebhookStats).webhooks;
      const pending = Object.values(w).reduce((n, k) => n + k.pending, 0);
      state = { finalText, behind: behind.length, firstBehind: behind.slice(0, 5).map((r) => [r, per.get(r)?.at(-1)?.display ?? null]), pending, jobs: c };
      return behind.length === 0 && pending === 0 && !c.active && !c.waiting && !c.prioritized && !c.delayed;
    },
    240_000,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify({ ...(state as object), failover: await failoverFigures(), behind: await diagnose(), problems: problems() })}`, { cause: err });
  });
  const everyoneOnFinalAt = Date.now();

  const msgs = await s.messages();
  const per = perRecipient(msgs);
  const onFinal = everyone.filter((r) => carriesFinal(per.get(r)?.at(-1))).length;
  // Duplicates: a message with the same text as an earlier one to the same recipient.
  let duplicates = 0;
  let recipientsWithDuplicate = 0;
  for (const l of per.values()) {
    const d = l.length - new Set(l.map((m) => m.display)).size;
    duplicates += d;
    if (d > 0) recipientsWithDuplicate++;
  }
  // The longest pause in sends around the failover: requests' arrival times from the kill on.
  const arrivals = msgs.map((m) => Date.parse(m.arrivedAt)).filter((t) => t >= killedAt - 1000 && t <= tickerStoppedAt).sort((a, b) => a - b);
  let longestGapMs = 0;
  for (let i = 1; i < arrivals.length; i++) longestGapMs = Math.max(longestGapMs, arrivals[i]! - arrivals[i - 1]!);
  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const counts = await s.jobCounts();
  const webhooks = ((await s.stats()) as unknown as SimWebhookStats).webhooks;
  const alive = s.procs.filter((p) => p.spawned.child.exitCode === null && p.spawned.child.signalCode === null).map((p) => p.name);
  const after = await cluster.view();
  report('cluster-failover', {
    subscribers: total,
    channels: CHANNELS,
    clusterNodeTimeoutMs: NODE_TIMEOUT_MS,
    killed: { node: victim.address, slots: victim.slots, tags: victimTags },
    promoted: replica.address,
    primariesAfter: after.filter((n) => n.role === 'primary' && !n.failing).map((n) => n.address),
    sendJobsAtKill: sendCountsAtKill,
    fanoutJobsAtKill: fanoutAtKill,
    acceptedAtKill,
    sendsArrivedKillToPromotion: msgs.filter((m) => Date.parse(m.arrivedAt) >= killedAt && Date.parse(m.arrivedAt) < promotedAt).length,
    killToPromotionMs: promotedAt - killedAt,
    killToFirstSendAfterPromotionMs: firstAfter - killedAt,
    killToClusterOkMs: clusterOkAt - killedAt,
    longestSendGapMs: longestGapMs,
    tickerExit,
    finalVersion: final.version,
    tickerStopToEveryoneOnFinalMs: everyoneOnFinalAt - tickerStoppedAt,
    killToEveryoneOnFinalMs: everyoneOnFinalAt - killedAt,
    recipientsOnFinalPrice: onFinal,
    subscribed,
    messagesSent: msgs.length,
    duplicates,
    recipientsWithDuplicate,
    jobs: counts,
    webhooks,
    processesAlive: alive,
    warnings: problems(),
  });

  expect(tickerExit.code).toBe(0);
  expect(aliveWhileTicking.sort()).toEqual(['dispatcher-1', 'dispatcher-2', 'ingress', 'simulator', 'ticker']);
  expect(alive.sort()).toEqual(['dispatcher-1', 'dispatcher-2', 'ingress', 'simulator']);
  expect(after.find((n) => n.id === replica.id)?.role).toBe('primary');
  expect(final.version).toBeGreaterThan(version + 1);
  expect(subscribed).toBe(total);
  expect(onFinal).toBe(total);
  expect(counts.failed ?? 0).toBe(0);
  expect(counts.active ?? 0).toBe(0);
  expect(counts.waiting ?? 0).toBe(0);
  expect(counts.delayed ?? 0).toBe(0);
  expect(counts.prioritized ?? 0).toBe(0);
  for (const [kind, w] of Object.entries(webhooks)) expect(w.failed, `${kind} webhooks given up`).toBe(0);
});
