import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaScript } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

describe('LuaScript', () => {
  const t = testRedis();
  afterAll(() => t.cleanup());

  it('runs a script Redis has never seen (loading it), then by its SHA alone', async () => {
    // A source no other test has loaded: the first call meets NOSCRIPT and sends the text.
    const script = new LuaScript(`-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const key = `${t.namespace}:lua`;
    expect(await script.run(t.redis, [key], [2])).toBe(2);
    expect(await script.run(t.redis, [key], [3])).toBe(5);
    expect(await t.redis.get(key)).toBe('5');
  });

  it('passes Redis errors other than NOSCRIPT through', async () => {
    const script = new LuaScript(`return redis.call('INCR', KEYS[1])`);
    const key = `${t.namespace}:not-a-number`;
    await t.redis.set(key, 'x');
    await expect(script.run(t.redis, [key], [])).rejects.toThrow(/not an integer/);
  });
});
