import { afterAll, describe, expect, it } from 'vitest';
import { PriceCache } from '@tickercast/shared';
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

  it('get returns the latest price, version and tick time', async () => {
    await prices.set('GOOGL', 170, 10_000);
    await prices.set('GOOGL', 171.5, 11_000);
    expect(await prices.get('GOOGL')).toEqual({ symbol: 'GOOGL', price: 171.5, version: 2, tickedAt: 11_000 });
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
});
