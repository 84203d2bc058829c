import { afterAll, describe, expect, it, vi } from 'vitest';
import { RATE_JITTER_MS, redisKeys, SendPacer, sendFetchLimiter, sendSpacingMs, SendWindow } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

/** The most sends spaced `spacing` ms apart that land in one rolling second, each up to `jitter` ms late. */
const worstRollingSecond = (spacing: number, jitter: number) => Math.floor((1000 + jitter) / spacing) + 1;

describe('sendSpacingMs', () => {
  it('never lets more than the rate into a rolling second, jitter included, for every rate from 1 to 10,000', () => {
    for (let rate = 1; rate <= 10_000; rate++) {
      expect(worstRollingSecond(sendSpacingMs(rate), RATE_JITTER_MS), `rate ${rate}`).toBeLessThanOrEqual(rate);
    }
  });

  it('keeps at least 95% of the rate', () => {
    for (const rate of [1, 5, 10, 20, 30, 50, 80, 100, 250, 1000, 10_000]) {
      expect(1000 / sendSpacingMs(rate) / rate, `rate ${rate}`).toBeGreaterThanOrEqual(0.95);
    }
  });
});

describe('sendFetchLimiter', () => {
  it('lets workers take jobs a little faster than the rate, never slower', () => {
    for (const rate of [1, 20, 30, 50, 1000, 10_000]) {
      const { max, duration } = sendFetchLimiter(rate);
      expect((max * 1000) / duration, `rate ${rate}`).toBeGreaterThanOrEqual(rate * 1.1);
    }
  });
});

describe('SendPacer', () => {
  const t = testRedis();
  afterAll(() => t.cleanup());
  // Slow enough that the calls' own time (a few ms, more on a busy machine) is small beside a spacing.
  const rates = { sms: 2, whatsapp: 2, messenger: 2, viber_service: 2 };

  it('gives slots one spacing apart on a shared schedule, and none further off than the horizon', async () => {
    const a = new SendPacer(new SendWindow(t.redis, t.keys, rates, 10_000), rates);
    const b = new SendPacer(new SendWindow(t.redis, t.keys, rates, 10_000), rates); // another dispatcher: the schedule is in Redis
    const spacing = sendSpacingMs(2);
    const horizon = a.horizonMs('sms');
    const waits: number[] = [];
    const schedule: number[] = [];
    for (const pacer of [a, b, a, b, a]) {
      waits.push(await pacer.reserve('sms', `s1`));
      schedule.push(Number(await t.redis.get(t.keys.sendPacing('sms'))));
    }

    const taken = waits.filter((w) => w >= 0);
    expect(taken.length).toBeGreaterThanOrEqual(2);
    expect(taken[0]).toBeLessThan(1);
    // Each taken slot is exactly one spacing after the previous one on the schedule (the wait
    // is that, less the time the calls took).
    for (let i = 1; i < taken.length; i++) {
      expect(schedule[i]! - schedule[i - 1]!).toBeCloseTo(spacing, 2);
      expect(taken[i]! - taken[i - 1]!).toBeGreaterThan(spacing - 200);
      expect(taken[i]! - taken[i - 1]!).toBeLessThanOrEqual(spacing);
    }
    // A refused call moves nothing.
    expect(new Set(schedule.slice(taken.length - 1)).size).toBe(1);
    // Past the horizon, nothing is taken: the answer says how long until a slot is in reach.
    const refused = waits.slice(taken.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const w of refused) expect(w).toBeLessThan(0);
    expect(-refused[0]!).toBeLessThanOrEqual(spacing);
    expect(taken.at(-1)!).toBeLessThanOrEqual(horizon);

    // Channels keep schedules of their own.
    expect(await a.reserve('whatsapp', `s2`)).toBeLessThan(1);
  });

  it('lets a slot go that it reached too late (a busy process) and takes the next one instead', async () => {
    // Four a second: the three slots taken here within a second all have a place in the window.
    const four = { ...rates, messenger: 4 };
    const pacer = new SendPacer(new SendWindow(t.redis, t.keys, four, 10_000), four);
    const spacing = sendSpacingMs(4);
    expect(await pacer.reserve('messenger', `s3`)).toBeLessThan(1); // the schedule starts now
    const scheduleAt = async () => Number(await t.redis.get(t.keys.sendPacing('messenger')));
    const before = await scheduleAt();

    // While the send waits for its slot (one spacing off), the process is busy past it.
    const waiting = pacer.waitForSlot('messenger', `s4`);
    setTimeout(() => {
      const until = performance.now() + spacing + 150;
      while (performance.now() < until) {
        // busy: no timer can fire
      }
    }, 5);
    expect(await waiting).toMatchObject({ waitedMs: expect.any(Number) });
    // The missed slot was let go and the next one taken: the schedule moved by two spacings.
    expect((await scheduleAt()) - before).toBeCloseTo(2 * spacing, 2);
  });

  it('takes a slot ahead of the send while the channel has slots to spare, and none once it is behind its schedule', async () => {
    // Keys of its own: the other tests' places and slots stay out of it.
    const keys = redisKeys(`${t.namespace}:early`);
    const window = new SendWindow(t.redis, keys, rates, 10_000);
    const pacer = new SendPacer(window, rates);
    const scheduleAt = async () => Number(await t.redis.get(keys.sendPacing('whatsapp')));
    // Nothing taken yet on this channel: the first send's slot is asked for as it starts, and is free.
    const first = pacer.early('whatsapp', 'e1')!;
    expect(first).toBeDefined();
    await first.settled();
    const afterFirst = await scheduleAt();
    expect(afterFirst).toBeGreaterThan(0);
    const slot = await first.take();
    expect(slot).toMatchObject({ waitedMs: expect.any(Number) });
    expect((slot as { waitedMs: number }).waitedMs).toBeLessThan(1);
    // The second's slot is a spacing off (2/s): taken, and the channel is now behind.
    const second = pacer.early('whatsapp', 'e2')!;
    expect(second).toBeDefined();
    await second.settled();
    expect((await scheduleAt()) - afterFirst).toBeCloseTo(sendSpacingMs(2), 2);
    // A third send takes its slot only once it knows it goes: nothing moves now.
    expect(pacer.early('whatsapp', 'e3')).toBeUndefined();
    expect((await scheduleAt()) - afterFirst).toBeCloseTo(sendSpacingMs(2), 2);
    window.release('whatsapp', 'e1');
    window.release('whatsapp', 'e2');
    await window.flush();
  });

  it('a slot taken ahead that the send is ready for too late (its reads were slow) is let go and the next one taken', async () => {
    const keys = redisKeys(`${t.namespace}:early-late`);
    const four = { ...rates, messenger: 4 };
    const pacer = new SendPacer(new SendWindow(t.redis, keys, four, 10_000), four);
    const early = pacer.early('messenger', 'slow')!;
    await early.settled();
    const before = Number(await t.redis.get(keys.sendPacing('messenger')));
    await new Promise((r) => setTimeout(r, 60)); // the send's reads: more than LATE_MS past its slot
    expect(await early.take()).toMatchObject({ waitedMs: expect.any(Number) });
    expect(Number(await t.redis.get(keys.sendPacing('messenger'))) - before).toBeCloseTo(sendSpacingMs(4), 2);
  });

  it('a slot under a millisecond away is waited for without a timer (one would take a millisecond at least)', async () => {
    const fast = { sms: 10_000, whatsapp: 10_000, messenger: 10_000, viber_service: 10_000 };
    const pacer = new SendPacer(new SendWindow(t.redis, t.keys, fast, 10_000), fast);
    // The channel's next slot put 0.8 ms ahead on Redis's clock: by the reservation, a fraction of a millisecond off.
    await t.redis.eval(
      `local t = redis.call('TIME') redis.call('SET', KEYS[1], string.format('%.6f', tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 + 0.8), 'PX', 10000) return 1`,
      1,
      t.keys.sendPacing('viber_service'),
    );
    // Which timers the wait sets, rather than how long it took: on a busy machine even the event
    // loop's turns can add up to milliseconds.
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const slot = await pacer.waitForSlot('viber_service', 'soon');
      expect(slot).toMatchObject({ waitedMs: expect.any(Number) });
      expect(timers).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
    }
  });
});
