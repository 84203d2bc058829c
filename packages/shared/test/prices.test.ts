import { afterAll, describe, expect, it } from 'vitest';
import { duplicateRedis, closeRedis, PriceCache, tickAnnouncementSchema } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
const prices = new PriceCache(t.redis, t.keys);
afterAll(() => t.cleanup());

describe('PriceCache', () => {
  it('each set of a symbol gets the next version', async () => {
    const a = await prices.set('MSFT', 410.5, 1_000);
    const b = await prices.set('MSFT', 411.25, 2_000);
    const c = await prices.set('MSFT', 409.125, 3_000);
    expect([a.version, b.version, c.version]).toEqual([1, 2, 3]);
    expect(c).toEqual({ symbol: 'MSFT', price: 409.125, version: 3, tickedAt: 3_000 });
    expect(await t.redis.hget(t.keys.priceVersions, 'MSFT')).toBe('3');
  });

  it("a tick writes every symbol's price and announces them all once, after the last write; a plain set announces nothing", async () => {
    const listener = duplicateRedis(t.redis);
    try {
      const heard: { text: string }[] = [];
      listener.on('message', (_: string, text: string) => heard.push({ text }));
      await listener.subscribe(t.keys.tickAnnouncements);
      await prices.set('TKA', 200, 1_000);
      const quotes = await prices.tick(
        [
          { symbol: 'TKA', price: 201.5 },
          { symbol: 'TKB', price: 150 },
        ],
        2_000,
      );
      expect(quotes).toEqual([
        { symbol: 'TKA', price: 201.5, version: 2, tickedAt: 2_000 },
        { symbol: 'TKB', price: 150, version: 1, tickedAt: 2_000 },
      ]);
      expect(await prices.get('TKA')).toEqual(quotes[0]);
      expect((await prices.history('TKB', 10)).map((q) => q.price)).toEqual([150]);
      await t.redis.publish(t.keys.tickAnnouncements, 'end'); // delivered after what came before it
      await new Promise<void>((resolve) => {
        const check = () => (heard.some((h) => h.text === 'end') ? resolve() : setTimeout(check, 5));
        check();
      });
      const announced = heard.filter((h) => h.text !== 'end');
      expect(announced).toHaveLength(1);
      // Each with its price and the write time a read of the prices gives (what makes followers due).
      const { written } = await prices.latest();
      expect(tickAnnouncementSchema.parse(JSON.parse(announced[0]!.text))).toEqual([
        { symbol: 'TKA', version: 2, price: 201.5, writtenAt: written.get('TKA') },
        { symbol: 'TKB', version: 1, price: 150, writtenAt: written.get('TKB') },
      ]);
      expect(Number(written.get('TKA'))).toBeGreaterThan(0);
    } finally {
      await closeRedis(listener);
    }
  });

  it('get returns the latest price, version and tick time', async () => {
    await prices.set('GOOGL', 170, 10_000);
    await prices.set('GOOGL', 171.5, 11_000);
    expect(await prices.get('GOOGL')).toEqual({ symbol: 'GOOGL', price: 171.5, version: 2, tickedAt: 11_000 });
  });

  it("writes and reads are timed by Redis' own clock, to the µs, in the order Redis ran them", async () => {
    await prices.set('TSLA', 250, 1);
    const first = await prices.read(['TSLA', 'NONE']);
    await prices.set('TSLA', 251, 2);
    const written = (await prices.writeTimes()).get('TSLA')!;
    const second = await prices.read(['TSLA']);
    expect(first.quotes.get('TSLA')?.price).toBe(250);
    expect(first.quotes.has('NONE')).toBe(false);
    expect(second.quotes.get('TSLA')?.price).toBe(251);
    expect(written).toMatch(/^\d{13}\.\d{3}$/);
    // The read before the write is older than it, the read after it newer: what makes a follower due.
    expect(Number(first.readAt)).toBeLessThan(Number(written));
    expect(Number(second.readAt)).toBeGreaterThanOrEqual(Number(written));
    const [s, us] = await t.redis.time();
    expect(Math.abs(Number(written) - (Number(s) * 1000 + Number(us) / 1000))).toBeLessThan(5000);
  });

  it('versions are per symbol', async () => {
    const x = await prices.set('AAPL', 200, 1);
    const y = await prices.set('AMZN', 180, 1);
    expect(x.version).toBe(1);
    expect(y.version).toBe(1);
  });

  it('prices are stored to four decimal places', async () => {
    const q = await prices.set('NVDA', 123.456789, 5);
    expect(q.price).toBe(123.4568);
    expect((await prices.get('NVDA'))?.price).toBe(123.4568);
  });

  it('concurrent sets each get a distinct version and the cache ends on the last one', async () => {
    const quotes = await Promise.all(Array.from({ length: 50 }, (_, i) => prices.set('IBM', 100 + i, i)));
    expect(quotes.map((q) => q.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect((await prices.get('IBM'))?.version).toBe(50);
  });

  it('getMany returns the known symbols and leaves out unknown ones', async () => {
    await prices.set('ORCL', 140, 7);
    await prices.set('META', 500, 8);
    const many = await prices.getMany(['ORCL', 'NOPE', 'META']);
    expect([...many.keys()].sort()).toEqual(['META', 'ORCL']);
    expect(many.get('ORCL')).toEqual({ symbol: 'ORCL', price: 140, version: 1, tickedAt: 7 });
    expect(many.get('META')?.price).toBe(500);
    expect((await prices.getMany([])).size).toBe(0);
  });

  it('an unknown symbol has no price', async () => {
    expect(await prices.get('UNKNOWN')).toBeUndefined();
  });

  it('each set also lands in the symbol\'s history, in the same round trip: oldest first, newest last', async () => {
    for (let i = 1; i <= 5; i++) await prices.set('HIST', 100 + i, i * 1000);
    expect(await prices.history('HIST', 3)).toEqual([
      { symbol: 'HIST', price: 103, version: 3, tickedAt: 3000 },
      { symbol: 'HIST', price: 104, version: 4, tickedAt: 4000 },
      { symbol: 'HIST', price: 105, version: 5, tickedAt: 5000 },
    ]);
    expect((await prices.histories(['HIST', 'NONE'], 10)).NONE).toEqual([]);
  });

  it('the history is capped near PRICE_HISTORY_POINTS, never below it', async () => {
    const capped = new PriceCache(t.redis, t.keys, { historyPoints: 100 });
    for (let i = 1; i <= 1000; i++) await capped.set('CAP', i, i);
    const length = await t.redis.xlen(t.keys.priceHistory('CAP'));
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
    const last = await capped.history('CAP', 100);
    expect(last).toHaveLength(100);
    expect(last.at(-1)).toMatchObject({ price: 1000, version: 1000 });
    expect(last[0]).toMatchObject({ price: 901 });
  });
});
