import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeRedis, createLogger, createQueues, duplicateRedis, fanoutJobId, PriceCache, type Queues } from '@tickercast/shared';
import { gaussian, nextPrice, startingPrice } from '../src/random-walk.ts';
import { Ticker } from '../src/ticker.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';

describe('random walk', () => {
  it('gaussian samples have mean ~0 and variance ~1', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const xs = Array.from({ length: 20_000 }, () => gaussian(rand));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('moves in cents, stays positive, and moves little per step', () => {
    let p = startingPrice('MSFT');
    for (let i = 0; i < 10_000; i++) {
      const next = nextPrice(p);
      expect(next).toBeGreaterThan(0);
      expect(Math.round(next * 100) / 100).toBe(next);
      expect(Math.abs(Math.log(next / p))).toBeLessThan(0.1);
      p = next;
    }
  });
});

describe('Ticker on Redis', () => {
  let t: TestRedis;
  let queues: Queues;
  let prices: PriceCache;
  const logger = createLogger('test', 'silent');

  beforeEach(() => {
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
    prices = new PriceCache(t.redis, t.keys);
  });
  afterEach(async () => {
    await queues.close();
    await t.cleanup();
  });

  it('a tick writes every price with a new version and adds one fan-out job per symbol', async () => {
    const ticker = new Ticker({ symbols: ['MSFT', 'GOOGL'], intervalMs: 1000, redis: t.redis, keys: t.keys, prices, queues, logger });
    const first = await ticker.tick();
    const second = await ticker.tick();
    expect(second.map((q) => q.version)).toEqual(first.map((q) => q.version + 1));
    const cached = await prices.getMany(['MSFT', 'GOOGL']);
    expect(cached.get('MSFT')!.price).toBe(second[0]!.price);
    expect(await queues.fanout.count()).toBe(4);
    const job = await queues.fanout.getJob(fanoutJobId(second[1]!));
    expect(job?.data).toMatchObject({ symbol: 'GOOGL', version: second[1]!.version });
  });

  it('a tick is announced on its pub/sub channel, every symbol with its version, for the dispatchers to wake at once', async () => {
    const listener = duplicateRedis(t.redis);
    try {
      const heard: string[] = [];
      listener.on('message', (channel: string, text: string) => heard.push(`${channel} ${text}`));
      await listener.subscribe(t.keys.tickAnnouncements);
      const ticker = new Ticker({ symbols: ['MSFT', 'GOOGL'], intervalMs: 1000, redis: t.redis, keys: t.keys, prices, queues, logger });
      const quotes = await ticker.tick();
      await until('the announcement', () => heard[0]);
      const { written } = await prices.latest();
      expect(heard).toHaveLength(1);
      expect(heard[0]!.startsWith(`${t.keys.tickAnnouncements} `)).toBe(true);
      expect(JSON.parse(heard[0]!.slice(t.keys.tickAnnouncements.length + 1))).toEqual(quotes.map(({ symbol, version, price }) => ({ symbol, version, price, writtenAt: written.get(symbol) })));
    } finally {
      await closeRedis(listener);
    }
  });

  it('continues from the cached price after a restart', async () => {
    await prices.set('MSFT', 500);
    const ticker = new Ticker({ symbols: ['MSFT'], intervalMs: 1000, redis: t.redis, keys: t.keys, prices, queues, logger });
    const [q] = await ticker.tick();
    expect(Math.abs(q!.price - 500)).toBeLessThan(50);
  });

  it('two replicas running side by side tick each slot once', async () => {
    const opts = { symbols: ['MSFT'], intervalMs: 100, redis: t.redis, keys: t.keys, prices, queues, logger };
    const a = new Ticker(opts);
    const b = new Ticker(opts);
    a.start();
    b.start();
    await new Promise((r) => setTimeout(r, 1050));
    await a.stop();
    await b.stop();
    const version = (await prices.get('MSFT'))!.version;
    // At most eleven 100 ms slots fit in 1050 ms; without the claim two replicas would tick about twenty times.
    expect(version).toBeGreaterThanOrEqual(2);
    expect(version).toBeLessThanOrEqual(11);
  });
});
