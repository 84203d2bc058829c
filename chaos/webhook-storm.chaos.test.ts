/**
 * Scenario 7 — a webhook storm on two ingress processes. autocannon fires 10,000 signed Messages
 * API webhooks (2,500 quick) at two ingress processes at once: inbound messages, each a person
 * texting MSFT from their own number, and status updates of messages in the delivery log, many
 * out of order (`read` before `delivered` before `submitted`). 20% of the requests are
 * duplicates — the same body, re-signed as Vonage re-signs a retry — sent to the *other* ingress,
 * some right behind the original (racing it), some later.
 * Guarantees: every request answered 2xx (no 5xx); every unique inbound message processed
 * exactly once (one subscription and one reply per person, one completed job); every status
 * fact applied once and each message ending in its most advanced state; nothing failed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { DeliveryLog, type StatusUpdate } from '@tickercast/shared';
import { seededRandom } from '../apps/simulator/src/random.ts';
import { freePort, until } from '../test/support/processes.ts';
import { byRecipient, QUICK, report, sleep, startSystem, type System } from './support.ts';
import { fire, loadFigures, signAll, type SignedWebhook, type Webhook } from './webhook-load.ts';

const TOTAL = QUICK ? 2500 : 10_000;
const DUPLICATES = Math.round(TOTAL * 0.2);
const UNIQUE = TOTAL - DUPLICATES;
const SECRET = 'chaos-storm-signature-secret-0123456789';
const SMS_FROM = '447700900000';
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

type Status = StatusUpdate['status'];
/** Status facts of one message in the order they are sent, and the state it must end in. */
const PATTERNS: { arrival: Status[]; final: Status }[] = [
  { arrival: ['read', 'delivered', 'submitted'], final: 'read' },
  { arrival: ['delivered', 'submitted'], final: 'delivered' },
  { arrival: ['undeliverable', 'submitted'], final: 'undeliverable' },
  { arrival: ['submitted'], final: 'submitted' },
  { arrival: ['submitted', 'delivered', 'read'], final: 'read' },
];
const STATUS_ORDER: Status[] = ['submitted', 'delivered', 'undeliverable', 'rejected', 'read'];

let sys: System | undefined;
afterAll(async () => {
  await sys?.stop();
});

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Plan {
  /** Per ingress, in firing order. */
  lists: [Webhook[], Webhook[]];
  phones: string[];
  messages: { uuid: string; to: string; final: Status }[];
  statusFacts: number;
}

/**
 * The storm: ~30% of the unique webhooks are status facts, the rest inbound messages. Facts go out
 * in rounds (a message's first fact in round 0, its second in round 1, …), inbound messages spread
 * over the rounds; then each duplicate is placed somewhere after its original, on the other ingress.
 */
function plan(random: () => number): Plan {
  const avgFacts = PATTERNS.reduce((n, p) => n + p.arrival.length, 0) / PATTERNS.length;
  const messageCount = Math.round((UNIQUE * 0.3) / avgFacts);
  const now = Date.now();
  const rounds: Webhook[][] = [[], [], []];
  const messages: Plan['messages'] = [];
  let statusFacts = 0;
  for (let i = 0; i < messageCount; i++) {
    const p = PATTERNS[i % PATTERNS.length]!;
    const m = { uuid: randomUUID(), to: `4477008${String(i).padStart(5, '0')}`, final: p.final };
    messages.push(m);
    p.arrival.forEach((status, round) => {
      const body = { channel: 'sms', message_uuid: m.uuid, to: m.to, from: SMS_FROM, status, timestamp: isoSeconds(now + STATUS_ORDER.indexOf(status) * 1000) };
      rounds[round]!.push({ path: '/webhooks/status', body: JSON.stringify(body) });
      statusFacts++;
    });
  }
  const phones: string[] = [];
  for (let i = 0; i < UNIQUE - statusFacts; i++) {
    const from = `4477009${String(20_000 + i).padStart(5, '0')}`;
    phones.push(from);
    const body = { channel: 'sms', message_uuid: randomUUID(), to: SMS_FROM, from, timestamp: isoSeconds(now), message_type: 'text', text: 'MSFT', sms: { num_messages: '1', keyword: 'MSFT' } };
    rounds[Math.floor(random() * rounds.length)]!.push({ path: '/webhooks/inbound', body: JSON.stringify(body) });
  }
  const unique = rounds.flatMap((r) => shuffle(r, random));

  const side = unique.map(() => (random() < 0.5 ? 0 : 1));
  const placed = unique.map((w, i) => ({ at: i, w, side: side[i]! }));
  for (const i of shuffle([...unique.keys()], random).slice(0, DUPLICATES)) {
    // Anywhere after the original: right behind it (a race between the two ingresses) or much later.
    placed.push({ at: i + 0.5 + random() * (unique.length - i), w: unique[i]!, side: 1 - side[i]! });
  }
  placed.sort((a, b) => a.at - b.at);
  const lists: [Webhook[], Webhook[]] = [[], []];
  for (const p of placed) lists[p.side as 0 | 1].push(p.w);
  return { lists, phones, messages, statusFacts };
}

/** `tickercast_webhooks_total` by outcome, from one ingress's /metrics. */
async function webhookOutcomes(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^tickercast_webhooks_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

test(`a storm of ${TOTAL} signed webhooks (20% duplicates, statuses out of order) on two ingresses: each processed once, no 5xx`, async () => {
  sys = await startSystem({
    dispatchers: 2,
    env: { LOG_LEVEL: 'warn', VONAGE_SIGNATURE_SECRET: SECRET, SIMULATOR_STATUS_WEBHOOKS: 'off', SMS_FROM },
    dispatcherEnv: { SMS_RATE_PER_SEC: '5000' },
  });
  const s = sys;
  const port2 = await freePort();
  const ingress2Url = `http://127.0.0.1:${port2}`;
  const ingress2 = await s.startProc('ingress-2', 'apps/ingress/src/main.ts', { PORT: String(port2) });
  await until('ingress-2 /readyz', async () => (await fetch(`${ingress2Url}/readyz`).catch(() => undefined))?.ok, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${ingress2.spawned.output().slice(-3000)}`);
  });

  await s.prices.set('MSFT', 100);
  const deliveries = new DeliveryLog(s.redis, s.keys);
  const p = plan(seededRandom(SEED));
  for (let i = 0; i < p.messages.length; i += 200) {
    await Promise.all(p.messages.slice(i, i + 200).map((m) => deliveries.recordSent({ messageUuid: m.uuid, subscriberId: `sms:${m.to}`, channel: 'sms', text: 'MSFT 100.00' })));
  }
  const signStart = Date.now();
  const [a, b]: SignedWebhook[][] = await Promise.all(p.lists.map((l) => signAll(l, SECRET)));
  const signMs = Date.now() - signStart;

  const fireStart = Date.now();
  const [ra, rb] = await Promise.all([fire(s.ingressUrl, a!, 16), fire(ingress2Url, b!, 16)]);
  const fireMs = Date.now() - fireStart;

  // Drained: a reply for every person, and no queue holding anything.
  let replies = 0;
  await until(
    'every inbound command replied to and every queue drained',
    async () => {
      replies = (await s.messages()).length;
      const c = await s.jobCounts();
      return replies >= p.phones.length && !c.active && !c.waiting && !c.prioritized && !c.delayed;
    },
    QUICK ? 120_000 : 300_000,
  );
  const drainedMs = Date.now() - fireStart;
  // Anything processed twice would show up now.
  await sleep(1000);

  const sent = byRecipient(await s.messages());
  const perPhone = p.phones.map((ph) => sent.get(ph) ?? []);
  const exactlyOne = perPhone.filter((l) => l.length === 1 && l[0]!.display.startsWith('Subscribed to MSFT')).length;
  let subscribed = 0;
  for await (const ids of s.store.subscribersOf('MSFT', 1000)) subscribed += ids.length;
  const inboundCounts = await s.queues.inbound.getJobCounts('completed', 'failed');
  const statusCounts = await s.queues.status.getJobCounts('completed', 'failed');
  const records = await Promise.all(p.messages.map((m) => deliveries.get(m.uuid)));
  const wrongState = p.messages.filter((m, i) => records[i]?.state !== m.final);
  const counts = await deliveries.counts();
  const expectFinal = (st: Status) => p.messages.filter((m) => m.final === st).length;
  const all = await s.jobCounts();
  const statuses = [...ra.statuses, ...rb.statuses];
  const answered = new Map<string, number>();
  for (const st of statuses) answered.set(String(st ?? 'none'), (answered.get(String(st ?? 'none')) ?? 0) + 1);

  report('webhook-storm', {
    seed: SEED,
    requests: TOTAL,
    unique: UNIQUE,
    duplicatesSent: DUPLICATES,
    inboundUnique: p.phones.length,
    statusFactsUnique: p.statusFacts,
    messagesWithStatuses: p.messages.length,
    perIngress: [a!.length, b!.length],
    answers: Object.fromEntries(answered),
    duplicateAnswers: ra.duplicateAnswers + rb.duplicateAnswers,
    ingress1: loadFigures(ra.result),
    ingress2: loadFigures(rb.result),
    overallRequestsPerSec: Math.round(TOTAL / (fireMs / 1000)),
    webhookOutcomes: [await webhookOutcomes(s.ingressUrl), await webhookOutcomes(ingress2Url)],
    signMs,
    fireMs,
    fireToDrainedMs: drainedMs,
    repliesSent: replies,
    phonesWithExactlyOneReply: exactlyOne,
    subscribed,
    inboundJobs: inboundCounts,
    statusJobs: statusCounts,
    wrongFinalState: wrongState.length,
    // Facts that arrived after a later state had been applied: refused, the state never moves back.
    staleStatusesIgnored: p.statusFacts - Object.entries(counts).filter(([k]) => k.startsWith('sms:') && k !== 'sms:accepted').reduce((n, [, v]) => n + v, 0),
    deliveryCounts: counts,
    failedJobs: all.failed ?? 0,
  });

  // Every request answered 200: none unanswered, no 5xx, no other non-2xx.
  expect(answered.get('200')).toBe(TOTAL);
  expect(ra.result['5xx'] + rb.result['5xx']).toBe(0);
  expect(ra.result.non2xx + rb.result.non2xx).toBe(0);
  // A duplicate is answered as one only when its original was already in (the rest raced it).
  expect(ra.duplicateAnswers + rb.duplicateAnswers).toBeLessThanOrEqual(DUPLICATES);
  // Each unique inbound message processed exactly once.
  expect(inboundCounts.completed).toBe(p.phones.length);
  expect(subscribed).toBe(p.phones.length);
  expect(replies).toBe(p.phones.length);
  expect(exactlyOne).toBe(p.phones.length);
  // Each status fact applied once; every message ends in its most advanced state.
  expect(statusCounts.completed).toBe(p.statusFacts);
  expect(wrongState.map((m) => m.uuid)).toEqual([]);
  expect(counts['sms:read'] ?? 0).toBe(expectFinal('read'));
  expect(counts['sms:undeliverable'] ?? 0).toBe(expectFinal('undeliverable'));
  expect(all.failed ?? 0).toBe(0);
});
