import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import {
  AlertStore,
  createLogger,
  createQueues,
  DeliveryLog,
  duePartition,
  DueIndex,
  HELD_OFFSET,
  PriceCache,
  SubscriptionStore,
  takeLease,
  type Channel,
  type SubscriberId,
  subscriberId as subscriberIdOf,
  type TickAnnouncement,
} from '@tickercast/shared';
import { Refiller } from '../src/refill.ts';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

const FAST: Record<Channel, number> = { sms: 1000, whatsapp: 1000, messenger: 1000, viber_service: 1000 };
const number = (series: number, i: number) => `4477009${String(series).padStart(2, '0')}${String(i).padStart(3, '0')}`;

let sim: RunningSimulator;
let t: TestRedis;
const running: TestDispatcher[] = [];

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
  await t.cleanup();
  sim.store.reset();
});

async function dispatcher(opts: Parameters<typeof testDispatcher>[2] = {}): Promise<TestDispatcher> {
  const d = await testDispatcher(t, sim, { offered: ['MSFT', 'GOOGL', 'AAPL', 'IBM'], ...opts });
  running.push(d);
  return d;
}

/** What each number received, in order. */
function inboxes(): Map<string, { text: string; at: number }[]> {
  const out = new Map<string, { text: string; at: number }[]>();
  for (const m of sim.store.messages({ channel: 'sms' })) {
    let list = out.get(m.to);
    if (!list) out.set(m.to, (list = []));
    list.push({ text: m.display, at: Date.parse(m.acceptedAt) });
  }
  return out;
}

describe('the due index', () => {
  it('gives the longest-waiting first (ties in id order), holds exactly, and takes only existing followers', async () => {
    t = testRedis();
    const due = new DueIndex(t.redis, t.keys);
    const ids = ['sms:4477001', 'sms:4477002', 'sms:4477003', 'sms:4477004'];
    // Served up to: 1 and 2 at 100, 3 at 50, 4 at 250 (not due on a price written at 200).
    for (const [id, score] of [[ids[0]!, 100], [ids[1]!, 100], [ids[2]!, 50], [ids[3]!, 250]] as const) {
      await t.redis.zadd(t.keys.dueFollowers('sms', duePartition(id), 'MSFT'), score, id);
    }
    const ticks = new Map([['MSFT', 200]]);
    expect(await due.due('sms', ticks, 10, 1000)).toEqual([ids[2], ids[0], ids[1]]);
    expect(await due.due('sms', ticks, 2, 1000)).toEqual([ids[2], ids[0]]);

    // Held: out of every due range until the hold ends, then back on the exact score.
    const now = 1_796_000_000_000;
    await due.claim([ids[2]!], ['MSFT'], now + 60_000);
    const key = t.keys.dueFollowers('sms', duePartition(ids[2]!), 'MSFT');
    expect(Number(await t.redis.zscore(key, ids[2]!))).toBe(50 + HELD_OFFSET);
    expect(await due.due('sms', ticks, 10, now)).toEqual([ids[0], ids[1]]);
    expect(await due.due('sms', ticks, 10, now + 60_000)).toEqual([ids[2], ids[0], ids[1]]);
    expect(await t.redis.zscore(key, ids[2]!)).toBe('50');

    // With the symbols each was found due on: GOOGL written at 200 too, where only 1 follows it (served at 10).
    await t.redis.zadd(t.keys.dueFollowers('sms', duePartition(ids[0]!), 'GOOGL'), 10, ids[0]!);
    const both = new Map([['MSFT', 200], ['GOOGL', 200]]);
    expect(await due.dueOn('sms', both, 10, now + 60_000)).toEqual([
      { id: ids[0], symbols: expect.arrayContaining(['MSFT', 'GOOGL']) },
      { id: ids[2], symbols: ['MSFT'] },
      { id: ids[1], symbols: ['MSFT'] },
    ]);
    await t.redis.zrem(t.keys.dueFollowers('sms', duePartition(ids[0]!), 'GOOGL'), ids[0]!);

    // Settling never lowers a score, and never adds someone who is not there.
    await due.settle([ids[0]!, 'sms:4477999'], ['MSFT'], '200.125');
    await due.settle([ids[0]!], ['MSFT'], 150);
    expect(await t.redis.zscore(t.keys.dueFollowers('sms', duePartition(ids[0]!), 'MSFT'), ids[0]!)).toBe('200.125');
    expect(await t.redis.zscore(t.keys.dueFollowers('sms', duePartition('sms:4477999'), 'MSFT'), 'sms:4477999')).toBeNull();
  });

  it('with a claim time, the scan holds those it answers and lets go exactly of those the merge leaves out', async () => {
    t = testRedis();
    const due = new DueIndex(t.redis, t.keys);
    // Enough ids to land in several partitions; served at 10, 20, …
    const ids = Array.from({ length: 12 }, (_, i) => `sms:44770020${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) await t.redis.zadd(t.keys.dueFollowers('sms', duePartition(id), 'MSFT'), 10 * (i + 1), id);
    const ticks = new Map([['MSFT', 1000]]);
    const now = 1_796_000_000_000;
    const taken = await due.due('sms', ticks, 5, now, now + 60_000);
    expect(taken).toEqual(ids.slice(0, 5));
    const score = async (id: string) => Number(await t.redis.zscore(t.keys.dueFollowers('sms', duePartition(id), 'MSFT'), id));
    const held = async (id: string) => t.redis.zscore(t.keys.dueHeld('sms', duePartition(id)), id);
    for (const [i, id] of ids.entries()) {
      if (i < 5) {
        expect(await score(id)).toBe(10 * (i + 1) + HELD_OFFSET);
        expect(await held(id)).toBe(String(now + 60_000));
      } else {
        expect(await score(id)).toBe(10 * (i + 1));
        expect(await held(id)).toBeNull();
      }
    }
    // Those left out are the next due; the held ones are not, until their claim runs out.
    expect(await due.due('sms', ticks, 20, now)).toEqual(ids.slice(5));
    expect(await due.due('sms', ticks, 20, now + 60_000)).toEqual(ids);
  });

  it("a sent turn's settle writes what it carried and its history entry in the same step, prices only where they still follow the symbol", async () => {
    t = testRedis();
    const due = new DueIndex(t.redis, t.keys);
    const id = 'sms:4477005';
    const p = duePartition(id);
    const record = t.keys.subscriber(id);
    // They follow MSFT and GOOGL; AAPL was dropped while the send was on its way.
    await t.redis.hset(record, 'sym:MSFT', '', 'sym:GOOGL', '100|1');
    for (const sym of ['MSFT', 'GOOGL']) await t.redis.zadd(t.keys.dueFollowers('sms', p, sym), 100, id);
    const now = 1_796_000_000_000;
    await due.claim([id], ['MSFT', 'GOOGL'], now + 60_000);

    const log = new DeliveryLog(t.redis, t.keys);
    await due.settleSent(id, ['MSFT', 'GOOGL'], '300.5', 0, { lastSent: ['MSFT', '412.35|7', 'AAPL', '170|7'], history: log.historyEntry(id, 'uuid-1') });
    expect(await t.redis.hgetall(record)).toEqual({ 'sym:MSFT': '412.35|7', 'sym:GOOGL': '100|1' });
    expect(await t.redis.lrange(t.keys.messageHistory(id), 0, -1)).toEqual(['uuid-1']);
    expect(await t.redis.ttl(t.keys.messageHistory(id))).toBeGreaterThan(86_400);
    for (const sym of ['MSFT', 'GOOGL']) expect(await t.redis.zscore(t.keys.dueFollowers('sms', p, sym), id)).toBe('300.5');
    expect(await t.redis.zscore(t.keys.dueHeld('sms', p), id)).toBeNull();

    // With EVERY: held again until the interval ends, on every score.
    await due.settleSent(id, ['MSFT', 'GOOGL'], '400', now + 30_000, { lastSent: ['MSFT', '413|8'], history: log.historyEntry(id, 'uuid-2') });
    expect(await t.redis.hget(record, 'sym:MSFT')).toBe('413|8');
    expect(await t.redis.lrange(t.keys.messageHistory(id), 0, -1)).toEqual(['uuid-2', 'uuid-1']);
    expect(Number(await t.redis.zscore(t.keys.dueFollowers('sms', p, 'GOOGL'), id))).toBe(400 + HELD_OFFSET);
    expect(await t.redis.zscore(t.keys.dueHeld('sms', p), id)).toBe(String(now + 30_000));
  });

  it('says which symbols anyone on a channel follows or holds an alert on, in any partition', async () => {
    t = testRedis();
    const due = new DueIndex(t.redis, t.keys);
    const store = new SubscriptionStore(t.redis, t.keys);
    const alerts = new AlertStore(t.redis, t.keys);
    const symbols = ['MSFT', 'GOOGL', 'IBM', 'AAPL'];
    for (const channel of ['sms', 'whatsapp', 'messenger'] as const) expect(await due.followed(channel, symbols)).toEqual(new Set());
    // Followers in several partitions; an alert alone (nobody follows IBM there plainly).
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => store.subscribe('sms', number(52, i), ['MSFT'])));
    expect(new Set(ids.map((id) => duePartition(id))).size).toBeGreaterThan(1);
    await alerts.set('sms', number(52, 10), { symbol: 'IBM', kind: 'above', level: 200, urgent: false, price: 190 });
    await store.subscribe('whatsapp', number(52, 20), ['GOOGL']);
    expect(await due.followed('sms', symbols)).toEqual(new Set(['MSFT', 'IBM']));
    expect(await due.followed('whatsapp', symbols)).toEqual(new Set(['GOOGL']));
    expect(await due.followed('messenger', symbols)).toEqual(new Set());
    // Once the last of them leaves, nobody follows it there.
    for (const id of ids) await store.unsubscribe(id, ['MSFT']);
    await alerts.remove(subscriberIdOf('sms', number(52, 10)), ['IBM']);
    expect(await due.followed('sms', symbols)).toEqual(new Set());
  });
});

describe('a refill woken by a tick that announced its prices', () => {
  /** A refiller of its own, with nothing to send what it queues, that counts its reads of the prices. */
  async function alone(options: { safetyMs?: number } = {}) {
    t = testRedis();
    const cache = new PriceCache(t.redis, t.keys);
    const queues = createQueues(t.redis, t.keys);
    const counted = { reads: 0, scans: 0 };
    const prices = { latest: () => (counted.reads++, cache.latest()) } as unknown as PriceCache;
    const alerts = new AlertStore(t.redis, t.keys);
    const due = new DueIndex(t.redis, t.keys);
    const dueOn = due.dueOn.bind(due);
    due.dueOn = (...args: Parameters<DueIndex['dueOn']>) => (counted.scans++, dueOn(...args));
    const refiller = new Refiller({ redis: t.redis, keys: t.keys, due, alerts, prices, queues, rates: FAST, logger: createLogger('test', 'silent'), ...options });
    /** A tick, and what it announced (as the tick script publishes it: packages/shared/test/prices.test.ts). */
    const tick = async (moves: { symbol: string; price: number }[]): Promise<TickAnnouncement> => {
      const quotes = await cache.tick(moves);
      const { written } = await cache.latest();
      return quotes.map((q) => ({ symbol: q.symbol, version: q.version, price: q.price, writtenAt: written.get(q.symbol)! }));
    };
    /** The feed sends queued, by subscriber: the symbols each names. */
    const queued = async () => {
      const jobs = (await Promise.all(Object.values(queues.sendQueues).flat().map((q) => q.getJobs(['prioritized', 'waiting'])))).flat();
      return new Map(jobs.map((j) => [j.data.subscriberId, j.data.kind === 'feed' ? j.data.symbols : undefined]));
    };
    const close = async () => {
      await refiller.close();
      await queues.close();
    };
    return { store: new SubscriptionStore(t.redis, t.keys), alerts, due, cache, refiller, counted, tick, queued, close };
  }

  it('scans from the prices it announced, without reading them first', async () => {
    const a = await alone();
    try {
      const id = await a.store.subscribe('sms', number(50, 1), ['MSFT', 'GOOGL'], Date.now() - 60_000);
      const other = await a.store.subscribe('whatsapp', number(50, 2), ['GOOGL'], Date.now() - 60_000);
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 412.35 }]));
      expect(a.counted.reads).toBe(0);
      // Queued, claimed, and due on what the tick moved only (GOOGL never had a price).
      expect(await a.queued()).toEqual(new Map([[id, ['MSFT']]]));
      expect(await t.redis.zscore(t.keys.dueHeld('sms', duePartition(id)), id)).not.toBeNull();
      // A later tick of GOOGL: the other channel's follower too, and nobody twice (the first is held).
      await a.refiller.wake(await a.tick([{ symbol: 'GOOGL', price: 170.02 }]));
      expect(a.counted.reads).toBe(0);
      expect(await a.queued()).toEqual(new Map([[id, ['MSFT']], [other, ['GOOGL']]]));
      // A wake that announced nothing (the safety wake, a fan-out job) reads the prices.
      await a.refiller.wake();
      expect(a.counted.reads).toBe(1);
    } finally {
      await a.close();
    }
  });

  it('adds what it claimed while another dispatcher holds the lease, and leaves the fired alerts to the holder', async () => {
    const a = await alone();
    try {
      const id = await a.store.subscribe('sms', number(51, 1), ['MSFT'], Date.now() - 60_000);
      const alerted = subscriberIdOf('sms', number(51, 2));
      await a.alerts.set('sms', number(51, 2), { symbol: 'IBM', kind: 'above', level: 200, urgent: false, price: 190 });
      const holder = await takeLease(t.redis, t.keys.refillLock('sms'), 5000);
      expect(holder).toBeDefined();
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 412.35 }, { symbol: 'IBM', price: 201 }]));
      // The plain follower it claimed in its scan is queued; the alert fired (the check is anyone's) but waits for the holder.
      expect(await a.queued()).toEqual(new Map([[id, ['MSFT']]]));
      expect(await t.redis.zscore(t.keys.alertsDue('sms', duePartition(alerted)), alerted)).not.toBeNull();
      // The lease is still the holder's.
      expect(await t.redis.get(t.keys.refillLock('sms'))).toBe(holder);
      await t.redis.del(t.keys.refillLock('sms'));
      await a.refiller.request('sms');
      expect(await a.queued()).toEqual(new Map([[id, ['MSFT']], [alerted, undefined]]));
    } finally {
      await a.close();
    }
  });

  it('skips a channel where, as read within the safety interval, nobody follows what the tick moved; the safety wake serves a newcomer there', async () => {
    const a = await alone({ safetyMs: 1000 });
    try {
      const first = await a.store.subscribe('sms', number(53, 1), ['MSFT'], Date.now() - 60_000);
      // The first tick of MSFT refills every channel, and reads who follows MSFT on each.
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 412.35 }]));
      await a.refiller.stop(); // waits for those reads
      expect(await a.queued()).toEqual(new Map([[first, ['MSFT']]]));
      // A newcomer on WhatsApp, where nobody followed MSFT: the next tick leaves WhatsApp out.
      const newcomer = await a.store.subscribe('whatsapp', number(53, 2), ['MSFT'], Date.now() - 60_000);
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 412.5 }]));
      expect(await a.queued()).toEqual(new Map([[first, ['MSFT']]]));
      // The safety wake refills every channel, whoever follows what.
      await a.refiller.wake();
      expect(await a.queued()).toEqual(new Map([[first, ['MSFT']], [newcomer, ['MSFT']]]));
      // Past the safety interval, what was read is read again, and the tick refills as usual.
      const late = await a.store.subscribe('messenger', number(53, 3), ['MSFT'], Date.now() - 60_000);
      await new Promise((r) => setTimeout(r, 1050));
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 413 }]));
      expect(await a.queued()).toEqual(new Map([[first, ['MSFT']], [newcomer, ['MSFT']], [late, ['MSFT']]]));
    } finally {
      await a.close();
    }
  });

  it('after a feed send settles, refills the channel only if a newer price was heard since the send began', async () => {
    const a = await alone({ safetyMs: 60_000 });
    try {
      const id = await a.store.subscribe('sms', number(54, 1), ['MSFT'], Date.now() - 60_000);
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 412.35 }]));
      expect(await a.queued()).toEqual(new Map([[id, ['MSFT']]]));
      a.refiller.start(); // its timers on; its first wake refills every channel at once
      await a.refiller.request('sms');
      const held = () => t.redis.zscore(t.keys.dueHeld('sms', duePartition(id)), id);
      const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

      // Their send began, read the prices, and settled: nothing newer came meanwhile, so no refill.
      let startedAt = performance.now();
      let { readAt } = await a.cache.read(['MSFT']);
      await a.due.settle([id], ['MSFT'], readAt);
      const scans = a.counted.scans;
      a.refiller.settled('sms', startedAt);
      await wait(150);
      expect(a.counted.scans).toBe(scans);
      expect(await held()).toBeNull();

      // Their next send began and read; a tick came (it finds them held); the send settled: a refill follows, and finds them due.
      await a.due.claim([id], ['MSFT'], Date.now() + 60_000);
      startedAt = performance.now();
      ({ readAt } = await a.cache.read(['MSFT']));
      await a.refiller.wake(await a.tick([{ symbol: 'MSFT', price: 413 }]));
      await a.due.settle([id], ['MSFT'], readAt);
      expect(await held()).toBeNull();
      a.refiller.settled('sms', startedAt);
      await until('a refill after the settle', held, 2000);
      expect(a.counted.scans).toBeGreaterThan(scans + 1);
    } finally {
      await a.close();
    }
  });
});

describe('the refill', () => {
  it("a wake's refills, one per channel, read the prices once between them; a refill begun later reads anew", async () => {
    t = testRedis();
    const d = await dispatcher();
    await d.prices.set('MSFT', 400);
    let reads = 0;
    const prices = { latest: () => (reads++, d.prices.latest()) } as unknown as PriceCache;
    const refiller = new Refiller({ redis: t.redis, keys: d.keys, due: new DueIndex(t.redis, d.keys), prices, queues: d.queues, rates: FAST, logger: createLogger('test', 'silent') });
    try {
      await refiller.wake();
      expect(reads).toBe(1);
      await refiller.request('sms');
      expect(reads).toBe(2);
    } finally {
      await refiller.close();
    }
  });

  it('serves a backlog in a fair rotation: nobody twice before everyone due once, each within ⌈due/rate⌉ + 1 s', async () => {
    t = testRedis();
    const RATE = 10;
    const N = 30;
    // One send at a time, so that acceptance order is queue order.
    const d = await dispatcher({ concurrency: 1, rates: { ...FAST, sms: RATE } });
    for (let i = 0; i < N; i++) await d.store.subscribe('sms', number(42, i), ['MSFT'], Date.now() - 60_000);
    const started = Date.now();
    // A tick every 300 ms for 7.5 s: everyone is due all the time, and the channel takes 10/s.
    for (let k = 0; k < 25; k++) {
      await d.prices.set('MSFT', 400 + k);
      await d.refiller.wake();
      await new Promise((r) => setTimeout(r, 300));
    }
    const order = sim.store.messages({ channel: 'sms' }).map((m) => m.to);
    expect(order.length).toBeGreaterThanOrEqual(N * 2);
    // Rounds: the first N messages go to N different people, and so does every window of N after.
    for (let start = 0; start + N <= order.length; start += N) {
      expect(new Set(order.slice(start, start + N)).size, `round from message ${start}: ${order.map((o) => o.slice(-2)).join(" ")}`).toBe(N);
    }
    // From the first acceptance (when the channel starts serving: how long the first tick's refill
    // takes is the machine's, not the rotation's), at the rate the channel achieved: on a busy
    // machine the sends themselves fall behind the limit, which is not the rotation's doing.
    const times = sim.store.messages({ channel: 'sms' }).map((m) => Date.parse(m.acceptedAt));
    const first = Math.min(...times);
    const achieved = ((times.length - 1) * 1000) / (Math.max(...times) - first);
    const bound = (Math.ceil(N / Math.min(RATE, achieved)) + 1) * 1000;
    expect(first - started).toBeLessThan(5000);
    for (const [to, inbox] of inboxes()) {
      expect(inbox[0]!.at - first, to).toBeLessThanOrEqual(bound);
      for (let i = 1; i < inbox.length; i++) expect(inbox[i]!.at - inbox[i - 1]!.at, to).toBeLessThanOrEqual(bound);
    }
    expect(inboxes().size).toBe(N);
  }, 30_000);

  it('conflates: each message carries every changed ticker; the last ones carry the final prices; unchanged tickers get nothing', async () => {
    t = testRedis();
    const d = await dispatcher({ concurrency: 4, rates: { ...FAST, sms: 20 } });
    await d.prices.set('IBM', 250, Date.now() - 120_000);
    const sets = [['MSFT'], ['MSFT', 'GOOGL'], ['GOOGL', 'AAPL', 'MSFT'], ['AAPL'], ['IBM']];
    for (let i = 0; i < 40; i++) await d.store.subscribe('sms', number(43, i), sets[i % sets.length]!, Date.now() - 60_000);
    const final: Record<string, number> = {};
    for (let k = 0; k < 12; k++) {
      for (const [j, s] of ['MSFT', 'GOOGL', 'AAPL'].entries()) {
        final[s] = 100 * (j + 1) + k;
        await d.prices.set(s, final[s]);
      }
      await d.refiller.wake();
      await new Promise((r) => setTimeout(r, 150));
    }
    // Until every follower of a changed ticker has its final price (an empty queue alone is not
    // the end: a wake may not have queued the last sends yet), then a little longer for extras.
    const lastOf = (i: number, s: string) => (inboxes().get(number(43, i)) ?? []).filter((m) => m.text.includes(`${s} `)).at(-1)?.text ?? '';
    await until('every follower on the final prices', async () => {
      await d.refiller.wake();
      return Array.from({ length: 40 }, (_, i) => i).every((i) => sets[i % sets.length]!.every((s) => s === 'IBM' || lastOf(i, s).includes(`${s} ${final[s]!.toFixed(2)}`)));
    }, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    const boxes = inboxes();
    for (let i = 0; i < 40; i++) {
      const symbols = sets[i % sets.length]!;
      const inbox = boxes.get(number(43, i)) ?? [];
      if (symbols.includes('IBM')) {
        expect(inbox, 'IBM did not change after they subscribed').toEqual([]);
        continue;
      }
      // At 20/s for 32 subscribers, most ticks are conflated: far fewer messages than ticks.
      expect(inbox.length).toBeGreaterThan(0);
      expect(inbox.length).toBeLessThan(12);
      for (const s of symbols) {
        const last = inbox.filter((m) => m.text.includes(`${s} `)).at(-1);
        expect(last?.text, `${number(43, i)} ${s}`).toContain(`${s} ${final[s]!.toFixed(2)}`);
      }
      // Each message names each of their tickers at most once, joined by " · ".
      for (const m of inbox) {
        const named = m.text.split(' · ').map((part) => part.split(' ')[0]);
        expect(new Set(named).size).toBe(named.length);
        expect(named.every((s) => symbols.includes(s!))).toBe(true);
      }
    }
  }, 40_000);

  it('a feed send reads the prices its job names beside the record and any other of theirs after; a symbol it names that they left is not sent', async () => {
    t = testRedis();
    const d = await dispatcher({ rates: FAST });
    await d.stopWorkers();
    const phone = number(31, 1);
    const id = await d.store.subscribe('sms', phone, ['MSFT', 'GOOGL']);
    for (const [symbol, price] of [['MSFT', 412.35], ['GOOGL', 170.02], ['IBM', 200.5]] as const) await d.prices.set(symbol, price);
    // Named: MSFT (theirs) and IBM (not theirs); not named: GOOGL (theirs).
    const outcome = await d.processors.send({ kind: 'feed', subscriberId: id, symbols: ['MSFT', 'IBM'] }, 'hinted-1', async () => ({ waitedMs: 0 }));
    expect(outcome.kind).toBe('sent');
    const [m] = sim.store.messages({ to: phone });
    expect(m!.display.split(' · ').map((part) => part.split(' ')[0]).sort()).toEqual(['GOOGL', 'MSFT']);
    // Served up to the reads: nobody is due again until a price is written after them.
    expect(await d.due.due('sms', await d.prices.writeTimes(), 10)).not.toContain(id);
  });

  it('a STOP wins over a feed send already queued', async () => {
    t = testRedis();
    const d = await dispatcher();
    await d.stopWorkers();
    const ids: SubscriberId[] = [];
    for (let i = 0; i < 5; i++) ids.push(await d.store.subscribe('sms', number(44, i), ['MSFT'], Date.now() - 60_000));
    await d.prices.set('MSFT', 321);
    await d.refiller.request('sms');
    expect(await d.queues.send.sms.getPrioritizedCount()).toBe(5);
    await d.store.stop(ids[0]!);
    await d.start();
    await until('the others fed', () => sim.store.messages().length === 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.store.messages({ to: number(44, 0) })).toHaveLength(0);
  });

  it('several dispatchers refill the same channels without sending anyone the same price twice', async () => {
    t = testRedis();
    const ds = [await dispatcher({ concurrency: 5 }), await dispatcher({ concurrency: 5 }), await dispatcher({ concurrency: 5 })];
    const N = 300;
    for (let i = 0; i < N; i++) await ds[0]!.store.subscribe(i % 3 === 0 ? 'whatsapp' : 'sms', number(45, i), ['MSFT', 'GOOGL'], Date.now() - 60_000);
    for (let k = 0; k < 8; k++) {
      await ds[0]!.prices.set('MSFT', 500 + k);
      await ds[0]!.prices.set('GOOGL', 600 + k);
      // Every dispatcher is woken by every tick, as the fan-out jobs of a tick reach all of them.
      await Promise.all(ds.map((d) => d.refiller.wake()));
      await new Promise((r) => setTimeout(r, 100));
    }
    const byNumber = new Map<string, string[]>();
    const last = (texts: string[], s: string) => texts.filter((x) => x.includes(`${s} `)).at(-1);
    await until(
      'everyone on the final prices',
      () => {
        byNumber.clear();
        for (const m of sim.store.messages()) {
          let list = byNumber.get(m.to);
          if (!list) byNumber.set(m.to, (list = []));
          list.push(m.display);
        }
        return byNumber.size === N && [...byNumber.values()].every((texts) => last(texts, 'GOOGL')?.includes('GOOGL 607.00') && last(texts, 'MSFT')?.includes('MSFT 507.00'));
      },
      30_000,
    );
    for (const [to, texts] of byNumber) {
      expect(new Set(texts).size, `${to}: ${texts.join(' | ')}`).toBe(texts.length);
    }
  }, 60_000);
});
