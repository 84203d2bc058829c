import { afterAll, describe, expect, it } from 'vitest';
import { SendWindow } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

/*
 * The window's rule, read back from Redis: a send starts only while fewer than `rate` earlier
 * sends can still have arrived within the last second. No timing is asserted: what is checked is
 * the order of the times Redis itself recorded.
 */
describe('SendWindow', () => {
  const t = testRedis();
  afterAll(() => t.cleanup());
  const rates = { sms: 2, whatsapp: 2, messenger: 2, viber_service: 2 };
  const TIMEOUT_MS = 10_000;
  const redisNow = async () => {
    const [s, us] = await t.redis.time();
    return Number(s) * 1000 + Number(us) / 1000;
  };
  const entries = async (channel: string) => {
    const flat = await t.redis.zrange(t.keys.sendWindow(channel), '0', '-1', 'WITHSCORES');
    return new Map(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, Number(flat[2 * i + 1])]));
  };

  it('with `rate` sends in flight the next waits; it starts no sooner than a second after the earliest answer', async () => {
    const window = new SendWindow(t.redis, t.keys, rates, TIMEOUT_MS);
    const a = await window.claim('sms');
    const b = await window.claim('sms');
    // In flight: each counts as arriving as late as its request could (start + timeout + 1 s).
    const before = await redisNow();
    for (const bound of (await entries('sms')).values()) expect(bound).toBeGreaterThan(before + TIMEOUT_MS);

    let started = false;
    const third = window.claim('sms').then((token) => ((started = true), token));
    await t.redis.ping();
    await t.redis.ping();
    expect(started).toBe(false); // nothing was answered: it cannot go, however long it waits

    await window.done('sms', a);
    const answeredAt = (await entries('sms')).get(a)!;
    expect(answeredAt).toBeLessThanOrEqual(await redisNow());
    const c = await third;
    // Its place was taken at Redis time (its bound less the in-flight allowance): a second or more after a's answer.
    const claimedAt = (await entries('sms')).get(c)! - (TIMEOUT_MS + 1000);
    expect(claimedAt - answeredAt).toBeGreaterThanOrEqual(1000);
    // a's answer aged out of the window when c came in; b and c remain.
    expect([...(await entries('sms')).keys()].sort()).toEqual([b, c].sort());
    await window.done('sms', b);
    await window.done('sms', c);
  });

  it('a send that failed is given back too, and channels keep windows of their own', async () => {
    const window = new SendWindow(t.redis, t.keys, rates, TIMEOUT_MS);
    await expect(window.around('whatsapp', async () => Promise.reject(new Error('connection reset')))).rejects.toThrow('connection reset');
    const [bound] = (await entries('whatsapp')).values();
    expect(bound).toBeLessThanOrEqual(await redisNow()); // answered (by an error): no longer in flight
    expect(await window.around('messenger', async () => 'sent')).toBe('sent');
    expect((await entries('messenger')).size).toBe(1);
    expect((await entries('viber_service')).size).toBe(0);
  });

  it('a place given back twice, or one that has already left, changes nothing', async () => {
    const window = new SendWindow(t.redis, t.keys, { ...rates, sms: 5 }, TIMEOUT_MS);
    await window.done('viber_service', 'never-claimed');
    expect((await entries('viber_service')).size).toBe(0);
  });
});
