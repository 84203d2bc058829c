import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CHANNELS, createRedis, DUE_PARTITIONS, duePartition, redisKeys, subscriberId, SubscriptionStore, symbolsOf, type Channel, type Redis, type SubscriberId } from '@tickercast/shared';
import { redisUrl, testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
const { redis } = t;
let keys = t.keys;
let store: SubscriptionStore;

// A fresh key namespace per test, inside the file's namespace (so cleanup() finds it), on one connection.
let n = 0;
beforeEach(() => {
  keys = redisKeys(`${t.namespace}:${n++}`);
  store = new SubscriptionStore(redis, keys);
});
afterAll(() => t.cleanup());

/** The symbols in a subscriber's record (its `sym:` fields). */
const recordSymbols = async (id: string) => symbolsOf(await redis.hgetall(keys.subscriber(id)));

/** Every subscriber ever seen, from each (channel, partition)'s set. */
async function everyone(): Promise<string[]> {
  const out: string[] = [];
  for (const c of CHANNELS) for (let p = 0; p < DUE_PARTITIONS; p++) out.push(...(await redis.smembers(keys.partitionSubscribers(c, p))));
  return out.sort();
}

/** Who the due index holds for a symbol, on every channel and partition: what the refill and broadcasts reach. */
async function followers(symbol: string): Promise<string[]> {
  const out: string[] = [];
  for (const c of CHANNELS) for (let p = 0; p < DUE_PARTITIONS; p++) out.push(...(await redis.zrange(keys.dueFollowers(c, p, symbol), '0', '-1')));
  return out.sort();
}

/** What the refill would reach: the symbols whose followers in the index include this id. */
async function fannedOutSymbols(id: string, symbols: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of symbols) if ((await followers(s)).includes(id)) out.push(s);
  return out.sort();
}

describe('SubscriptionStore', () => {
  it('subscribe records both sides and makes the subscriber active', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT', 'GOOGL'], 1_000);
    expect(id).toBe('sms:447700900123');
    expect(await recordSymbols(id)).toEqual(['GOOGL', 'MSFT']);
    expect(await followers('MSFT')).toEqual([id]);
    expect(await followers('GOOGL')).toEqual([id]);
    expect(await everyone()).toEqual([id]);
    expect(await redis.hgetall(keys.subscriber(id))).toEqual({
      channel: 'sms',
      address: '447700900123',
      status: 'active',
      createdAt: '1000',
      updatedAt: '1000',
      'sym:GOOGL': '',
      'sym:MSFT': '',
    });
    expect(await store.get(id)).toEqual({
      id,
      channel: 'sms',
      address: '447700900123',
      status: 'active',
      createdAt: 1000,
      updatedAt: 1000,
      symbols: ['GOOGL', 'MSFT'],
    });
    expect(await store.isSubscribed(id, 'MSFT')).toBe(true);
    expect(await store.isSubscribed(id, 'AAPL')).toBe(false);
  });

  it('the same address on two channels is two subscribers', async () => {
    const sms = await store.subscribe('sms', '447700900123', ['MSFT']);
    const wa = await store.subscribe('whatsapp', '447700900123', ['MSFT']);
    expect(sms).not.toBe(wa);
    expect(await followers('MSFT')).toEqual([sms, wa].sort());
  });

  it('subscribing again is idempotent and keeps the creation time', async () => {
    const id = await store.subscribe('whatsapp', '447700900123', ['MSFT'], 1_000);
    await store.subscribe('whatsapp', '447700900123', ['MSFT'], 2_000);
    await store.subscribe('whatsapp', '447700900123', ['MSFT'], 3_000);
    expect(await recordSymbols(id)).toEqual(['MSFT']);
    expect(await followers('MSFT')).toEqual([id]);
    expect(await everyone()).toEqual([id]);
    const sub = await store.get(id);
    expect(sub?.createdAt).toBe(1_000);
    expect(sub?.updatedAt).toBe(3_000);
  });

  it('subscribing adds to the symbols already followed', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT']);
    await store.subscribe('sms', '447700900123', ['AAPL']);
    expect((await store.get(id))?.symbols).toEqual(['AAPL', 'MSFT']);
    expect(await fannedOutSymbols(id, ['AAPL', 'MSFT'])).toEqual(['AAPL', 'MSFT']);
  });

  it('unsubscribe drops one symbol on both sides and keeps the others', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT', 'GOOGL', 'AAPL'], 1_000);
    const other = await store.subscribe('sms', '447700900999', ['MSFT'], 1_000);
    await store.unsubscribe(id, ['MSFT'], 2_000);
    expect(await recordSymbols(id)).toEqual(['AAPL', 'GOOGL']);
    expect(await followers('MSFT')).toEqual([other]);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(false);
    expect(await store.isSubscribed(id, 'GOOGL')).toBe(true);
    const sub = await store.get(id);
    expect(sub?.status).toBe('active');
    expect(sub?.updatedAt).toBe(2_000);
  });

  it('unsubscribing from nothing changes nothing', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT'], 1_000);
    await store.unsubscribe(id, [], 2_000);
    expect((await store.get(id))?.updatedAt).toBe(1_000);
  });

  it('stop removes the subscriber from every symbol set but keeps their own set, status stopped', async () => {
    const id = await store.subscribe('messenger', '4567890123456', ['MSFT', 'GOOGL', 'AAPL'], 1_000);
    const other = await store.subscribe('messenger', '9999999999999', ['MSFT', 'GOOGL'], 1_000);
    expect(await store.stop(id, 2_000)).toBe('active');
    for (const s of ['MSFT', 'GOOGL', 'AAPL']) expect(await store.isSubscribed(id, s)).toBe(false);
    expect(await followers('MSFT')).toEqual([other]);
    expect(await followers('GOOGL')).toEqual([other]);
    expect(await followers('AAPL')).toEqual([]);
    expect(await recordSymbols(id)).toEqual(['AAPL', 'GOOGL', 'MSFT']);
    expect(await redis.hget(keys.subscriber(id), 'status')).toBe('stopped');
    expect((await store.get(id))?.updatedAt).toBe(2_000);
    // Stopping twice reports that it was already stopped.
    expect(await store.stop(id, 3_000)).toBe('stopped');
  });

  it('stop of someone never seen returns undefined', async () => {
    expect(await store.stop('sms:000000000', 1_000)).toBeUndefined();
  });

  it('start restores every symbol held before stop', async () => {
    const id = await store.subscribe('viber_service', '447700900123', ['MSFT', 'GOOGL'], 1_000);
    await store.stop(id, 2_000);
    expect(await store.start(id, 3_000)).toEqual(['GOOGL', 'MSFT']);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(true);
    expect(await store.isSubscribed(id, 'GOOGL')).toBe(true);
    const sub = await store.get(id);
    expect(sub?.status).toBe('active');
    expect(sub?.updatedAt).toBe(3_000);
  });

  it('touch creates an active record without symbols and never reactivates a stopped one', async () => {
    const id = await store.touch('whatsapp', '447700900123', 1_000);
    expect(await store.get(id)).toEqual({
      id,
      channel: 'whatsapp',
      address: '447700900123',
      status: 'active',
      createdAt: 1_000,
      updatedAt: 1_000,
      lastInboundAt: 1_000,
      symbols: [],
    });
    await store.subscribe('whatsapp', '447700900123', ['MSFT'], 2_000);
    await store.stop(id, 3_000);
    await store.touch('whatsapp', '447700900123', 4_000);
    const sub = await store.get(id);
    expect(sub?.status).toBe('stopped');
    expect(sub?.lastInboundAt).toBe(4_000);
    expect(await store.isSubscribed(id, 'MSFT')).toBe(false);
  });

  it('a stopped subscriber who subscribes again is fanned out exactly what they are shown as following', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT', 'GOOGL'], 1_000);
    await store.stop(id, 2_000);
    await store.subscribe('sms', '447700900123', ['AAPL'], 3_000);
    const sub = await store.get(id);
    expect(sub?.status).toBe('active');
    expect(await fannedOutSymbols(id, ['MSFT', 'GOOGL', 'AAPL'])).toEqual(sub?.symbols);
    // A new opt-in after STOP is to what was asked for; START is what resumes the old set.
    expect(sub?.symbols).toEqual(['AAPL']);
  });

  it('get of someone never seen is undefined', async () => {
    expect(await store.get('sms:000000000')).toBeUndefined();
  });

  it('subscribersOf pages through 2,500 subscribers, returning each exactly once', async () => {
    const ids: string[] = [];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 2_500; i++) {
      const address = String(447700000000 + i);
      ids.push(subscriberId('sms', address));
      writes.push(store.subscribe('sms', address, ['MSFT']));
    }
    await Promise.all(writes);
    // Someone following another symbol is not part of the pages.
    await store.subscribe('sms', '15550000000', ['GOOGL']);

    const seen: string[] = [];
    let pages = 0;
    for await (const page of store.subscribersOf('MSFT', 200)) {
      pages++;
      expect(page.length).toBeGreaterThan(0);
      seen.push(...page);
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen.length).toBe(2_500);
    expect(new Set(seen).size).toBe(2_500);
    expect(seen.sort()).toEqual(ids.sort());
  });

  it('subscribersOf a symbol nobody follows yields no page', async () => {
    const pages: string[][] = [];
    for await (const page of store.subscribersOf('NOBODY')) pages.push(page);
    expect(pages).toEqual([]);
  });

  it('subscribe and stop racing from many connections leave a consistent state', async () => {
    const connections: Redis[] = Array.from({ length: 4 }, () => createRedis(redisUrl()));
    try {
      const stores = connections.map((c) => new SubscriptionStore(c, keys));
      const SYMBOLS = ['MSFT', 'GOOGL', 'AAPL', 'AMZN', 'NVDA'];
      const people: { channel: Channel; address: string }[] = Array.from({ length: 40 }, (_, i) => ({
        channel: CHANNELS[i % CHANNELS.length]!,
        address: String(447700900000 + i),
      }));
      // A deterministic pseudo-random mix of operations per person, spread over the connections.
      let seed = 42;
      const rand = (k: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      const ops: Promise<unknown>[] = [];
      for (let round = 0; round < 15; round++) {
        for (const p of people) {
          const s = stores[rand(stores.length)]!;
          const id = subscriberId(p.channel, p.address);
          const pick = () => [SYMBOLS[rand(SYMBOLS.length)]!, SYMBOLS[rand(SYMBOLS.length)]!];
          switch (rand(5)) {
            case 0:
            case 1:
              ops.push(s.subscribe(p.channel, p.address, pick()));
              break;
            case 2:
              ops.push(s.stop(id));
              break;
            case 3:
              ops.push(s.start(id));
              break;
            case 4:
              ops.push(s.unsubscribe(id, [SYMBOLS[rand(SYMBOLS.length)]!]));
              break;
          }
        }
      }
      await Promise.all(ops);

      let stopped = 0;
      for (const p of people) {
        const id: SubscriberId = subscriberId(p.channel, p.address);
        const sub = await store.get(id);
        if (!sub) continue;
        const fanned = await fannedOutSymbols(id, SYMBOLS);
        if (sub.status === 'stopped') {
          stopped++;
          // Nothing is fanned out to someone who said STOP.
          expect(fanned, `${id} is stopped`).toEqual([]);
        } else {
          // An active subscriber is fanned out exactly the symbols they follow.
          expect(fanned, `${id} is active`).toEqual(sub.symbols);
        }
      }
      // The mix really exercised both outcomes.
      expect(stopped).toBeGreaterThan(0);
      expect(stopped).toBeLessThan(people.length);
    } finally {
      await Promise.all(connections.map((c) => c.quit()));
    }
  });
});

describe('the fallback in the record', () => {
  it('is removed whole (FALLBACK OFF), or only if it is still the one named (a dead number): one set meanwhile stays', async () => {
    const id = await store.subscribe('whatsapp', '447700900555', ['MSFT']);
    const old = { channel: 'sms' as const, address: '447700900555' };
    const now = { channel: 'sms' as const, address: '447700900556' };
    await store.setFallback(id, now);
    expect(await store.clearFallback(id, Date.now(), old)).toBe(false);
    expect((await store.get(id))?.fallback).toEqual(now);
    expect(await store.clearFallback(id, Date.now(), now)).toBe(true);
    expect((await store.get(id))?.fallback).toBeUndefined();
    await store.setFallback(id, old);
    expect(await store.clearFallback(id)).toBe(true);
    expect(await store.clearFallback(id)).toBe(false);
  });
});

describe('quiet hours in the record (issue 16)', () => {
  const quiet = { startMin: 22 * 60, endMin: 7 * 60 };
  const held = (id: string) => redis.zscore(keys.dueHeld('sms', duePartition(id)), id);

  it('QUIET sets them with the zone given, QUIET OFF clears them and keeps the zone, STOP removes all three', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT']);
    expect(await store.setQuiet(id, quiet, 'Europe/London')).toEqual({ timeZone: 'Europe/London', suggested: true });
    expect(await store.get(id)).toMatchObject({ quiet, timeZone: 'Europe/London' });
    // A zone of their own is kept as it is, whatever their number suggests; TZ answers their quiet hours.
    expect(await store.setTimeZone(id, 'America/Chicago')).toEqual(quiet);
    expect(await store.setQuiet(id, { startMin: 30, endMin: 6 * 60 }, 'Europe/London')).toEqual({ timeZone: 'America/Chicago', suggested: false });
    expect(await store.get(id)).toMatchObject({ quiet: { startMin: 30, endMin: 360 }, timeZone: 'America/Chicago' });
    // Forgotten (TZ OFF without a number to go by): UTC, and the quiet hours stay.
    expect(await store.setTimeZone(id, undefined)).toEqual({ startMin: 30, endMin: 360 });
    expect((await store.get(id))?.timeZone).toBeUndefined();
    expect(await store.setQuiet(id, { startMin: 30, endMin: 6 * 60 }, undefined)).toEqual({ timeZone: undefined, suggested: false });
    await store.setTimeZone(id, 'America/Chicago');

    expect(await store.clearQuiet(id)).toBe(true);
    expect(await store.clearQuiet(id)).toBe(false);
    const cleared = await store.get(id);
    expect(cleared?.quiet).toBeUndefined();
    expect(cleared?.timeZone).toBe('America/Chicago');

    await store.setQuiet(id, quiet, undefined);
    await store.stop(id);
    const record = await redis.hgetall(keys.subscriber(id));
    expect([record.quietStart, record.quietEnd, record.timeZone]).toEqual([undefined, undefined, undefined]);
    expect(record.status).toBe('stopped');
  });

  it('each of QUIET, QUIET OFF and TZ brings a hold in the due index forward to now, and holds nobody who was not held', async () => {
    const id = await store.subscribe('sms', '447700900123', ['MSFT']);
    const later = Date.now() + 8 * 3_600_000;
    await store.setQuiet(id, quiet, 'Europe/London', 1000);
    expect(await held(id)).toBeNull();
    for (const change of [() => store.setQuiet(id, quiet, undefined, 1000), () => store.clearQuiet(id, 1000), () => store.setTimeZone(id, 'UTC', 1000)]) {
      await redis.zadd(keys.dueHeld('sms', duePartition(id)), later, id);
      await change();
      expect(await held(id)).toBe('1000');
    }
  });
});
