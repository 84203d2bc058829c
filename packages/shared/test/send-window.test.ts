import { afterAll, describe, expect, it } from 'vitest';
import { FeedFloor, redisKeys, sendSpacingMs, SendWindow } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

/*
 * The window's rule, read back from Redis: a slot is given only while fewer than `rate` earlier
 * sends can still have arrived within a second of it. No timing is asserted: what is checked is
 * the order of the times Redis itself recorded.
 */
describe('SendWindow', () => {
  const t = testRedis();
  afterAll(() => t.cleanup());
  const rates = { sms: 2, whatsapp: 2, messenger: 2, viber_service: 2 };
  const TIMEOUT_MS = 10_000;
  const HORIZON = 60_000;
  const redisNow = async () => {
    const [s, us] = await t.redis.time();
    return Number(s) * 1000 + Number(us) / 1000;
  };
  const entries = async (channel: string) => {
    const flat = await t.redis.zrange(t.keys.sendWindow(channel), '0', '-1', 'WITHSCORES');
    return Array.from({ length: flat.length / 2 }, (_, i) => ({ send: flat[2 * i]!.split('|')[0]!, bound: Number(flat[2 * i + 1]) }));
  };

  it('with `rate` sends unanswered no slot is given, however far the schedule is; one comes a second after an answer', async () => {
    const window = new SendWindow(t.redis, t.keys, rates, TIMEOUT_MS);
    // A tiny spacing: only the window can hold a send back here.
    expect(await window.reserve('sms', 'a', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    expect(await window.reserve('sms', 'b', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    // In flight: each counts as arriving as late as its request could (slot + timeout + 1 s).
    const before = await redisNow();
    for (const e of await entries('sms')) expect(e.bound).toBeGreaterThan(before + TIMEOUT_MS);
    expect(await window.reserve('sms', 'c', 1, HORIZON)).toBeLessThan(0);
    expect(await window.reserve('sms', 'c', 1, HORIZON)).toBeLessThan(0);

    window.release('sms', 'a');
    await window.flush();
    const answeredAt = (await entries('sms')).find((e) => e.send === 'a')!.bound;
    expect(answeredAt).toBeLessThanOrEqual(await redisNow());
    // Still no place while a's answer is under a second old; then one, at least a second after it.
    let wait = await window.reserve('sms', 'c', 1, HORIZON);
    while (wait < 0) {
      await new Promise((r) => setTimeout(r, -wait));
      wait = await window.reserve('sms', 'c', 1, HORIZON);
    }
    const c = (await entries('sms')).find((e) => e.send === 'c')!;
    expect(c.bound - (TIMEOUT_MS + 1000) - answeredAt).toBeGreaterThanOrEqual(1000);
    window.release('sms', 'b');
    window.release('sms', 'c');
  });

  it("a place given back goes with the channel's next reservation, which counts it as answered", async () => {
    const keys = redisKeys(`${t.namespace}:ride`);
    const window = new SendWindow(t.redis, keys, rates, TIMEOUT_MS);
    const bound = async (send: string) => {
      const flat = await t.redis.zrange(keys.sendWindow('sms'), '0', '-1', 'WITHSCORES');
      return Number(flat[flat.findIndex((m, j) => j % 2 === 0 && m.startsWith(`${send}|`)) + 1]);
    };
    expect(await window.reserve('sms', 'a', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    expect(await window.reserve('sms', 'b', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    window.release('sms', 'a');
    // In the same turn, before the turn's own write of it: the reservation carries a's answer and
    // counts it, so c waits for a second after it, not for an answer still to come (20 ms).
    const c = await window.reserve('sms', 'c', 1, HORIZON);
    expect(c).toBeLessThan(0);
    expect(-c).toBeGreaterThan(500);
    expect(await bound('a')).toBeLessThanOrEqual(await redisNow());
    expect(await bound('b')).toBeGreaterThan(await redisNow());
    window.release('sms', 'b');
    await window.flush();
    expect(await bound('b')).toBeLessThanOrEqual(await redisNow());
  });

  it('a slot beyond the horizon is not taken and takes no place', async () => {
    const window = new SendWindow(t.redis, t.keys, { ...rates, whatsapp: 100 }, TIMEOUT_MS);
    const spacing = sendSpacingMs(2);
    expect(await window.reserve('whatsapp', 'x', spacing, 100)).toBeGreaterThanOrEqual(0);
    expect(await window.reserve('whatsapp', 'y', spacing, 100)).toBeLessThan(0);
    expect((await entries('whatsapp')).map((e) => e.send)).toEqual(['x']);
    window.release('whatsapp', 'x');
  });

  it('the same send id on two channels is two sends: one giving its place back leaves the other\'s', async () => {
    // Job ids are counters per queue: SMS job 7 and Messenger job 7 are different sends. (Keys of its own: the other tests' places stay out of it.)
    const keys = redisKeys(`${t.namespace}:ids`);
    const window = new SendWindow(t.redis, keys, rates, TIMEOUT_MS);
    const bound = async (channel: string, send: string) => {
      const flat = await t.redis.zrange(keys.sendWindow(channel), '0', '-1', 'WITHSCORES');
      const i = flat.findIndex((m, j) => j % 2 === 0 && m.startsWith(`${send}|`));
      return Number(flat[i + 1]);
    };
    expect(await window.reserve('messenger', '7', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    expect(await window.reserve('sms', '7', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    window.release('sms', '7');
    await window.flush();
    const before = await redisNow();
    // Messenger's 7 is still in flight: it counts as arriving as late as its request could.
    expect(await bound('messenger', '7')).toBeGreaterThan(before + TIMEOUT_MS);
    expect(await bound('sms', '7')).toBeLessThanOrEqual(before);
    window.release('messenger', '7');
  });

  it('a place given back twice, or never taken, changes nothing', async () => {
    const window = new SendWindow(t.redis, t.keys, rates, TIMEOUT_MS);
    window.release('messenger', 'never');
    expect(await window.reserve('messenger', 'm', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    window.release('messenger', 'm');
    window.release('messenger', 'm');
    await window.flush();
    expect((await entries('messenger')).length).toBe(1);
    expect((await entries('viber_service')).length).toBe(0);
  });

  it("a feed send's slot marks the feed floor's clock as it is taken; a reply's, or a slot refused, does not", async () => {
    const window = new SendWindow(t.redis, t.keys, rates, TIMEOUT_MS);
    // 2/s, replies at most half the slots: the feed is owed one after two spacings without it.
    const floor = new FeedFloor(t.redis, t.keys, rates, 0.5);
    const mark = floor.mark('viber_service')!;
    expect(mark.key).toBe(t.keys.feedSentAt('viber_service'));
    expect(new FeedFloor(t.redis, t.keys, rates, 1).mark('viber_service')).toBeUndefined(); // no floor, no mark

    expect(await window.reserve('viber_service', 'reply', 1, HORIZON)).toBeGreaterThanOrEqual(0);
    expect(await t.redis.exists(mark.key)).toBe(0);
    const before = await redisNow();
    expect(await window.reserve('viber_service', 'feed', 1, HORIZON, mark)).toBeGreaterThanOrEqual(0);
    const markedAt = Number(await t.redis.get(mark.key));
    expect(markedAt).toBeGreaterThanOrEqual(Math.floor(before));
    expect(markedAt).toBeLessThanOrEqual(await redisNow());
    expect(await t.redis.pttl(mark.key)).toBeGreaterThan(mark.ttlMs - 1000);
    // Two in flight at 2/s: the next is refused, and marks nothing.
    await t.redis.set(mark.key, '1');
    expect(await window.reserve('viber_service', 'feed2', 1, HORIZON, mark)).toBeLessThan(0);
    expect(await t.redis.get(mark.key)).toBe('1');
    window.release('viber_service', 'reply');
    window.release('viber_service', 'feed');
  });
});
