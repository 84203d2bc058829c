import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/app.ts';
import { RollingWindowLimiter, TimestampRing } from '../src/rate-limit.ts';
import { manualClock, send, SMS, testSimulator, WHATSAPP_TEMPLATE } from './helpers.ts';

/*
 * Per-channel throughput limits over ANY rolling 1000 ms, exactly: what proves the dispatcher's
 * own rate limiting. A request over the limit is Vonage's 429 "Rate Limit Hit" (#1000) with a
 * Retry-After; nothing is accepted for it.
 */

/** The most timestamps in any window [t, t + 1000). */
function maxInAnyWindow(timestamps: number[]): number {
  const ts = [...timestamps].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < ts.length; end++) {
    while (ts[end]! - ts[start]! >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.app.close();
  sim = undefined;
});

const stats = async (s: Simulator) => (await s.app.inject({ method: 'GET', url: '/_sim/stats' })).json<{ channels: Record<string, { accepted: number; throttled: number; maxPerSecond: number; limit: number }> }>();

describe('the rolling one-second window', () => {
  it('limit 5: five accepted, then 429 with Retry-After until the first of them is 1000 ms old', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, rateLimits: { sms: 5 }, statusWebhooks: { enabled: false } });

    for (let i = 0; i < 5; i++) {
      expect((await send(sim, SMS)).statusCode).toBe(202);
      clock.advance(100);
    }
    // t = 500: the five sent at 0..400 are all within the last second.
    const refused = await send(sim, SMS);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1000', title: 'Rate Limit Hit' });

    clock.advance(499); // t = 999: the first (t = 0) is still inside (t - 1000, t]
    expect((await send(sim, SMS)).statusCode).toBe(429);
    clock.advance(1); // t = 1000: it left
    expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await send(sim, SMS)).statusCode).toBe(429);
    clock.advance(100); // t = 1100: the one sent at 100 left
    expect((await send(sim, SMS)).statusCode).toBe(202);

    expect(sim.store.acceptedTotal).toBe(7);
    const s = (await stats(sim)).channels.sms!;
    expect(s).toEqual({ limit: 5, accepted: 7, throttled: 3, maxPerSecond: 5 });
  });

  it('Retry-After is the seconds until the window frees, rounded up', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, rateLimits: { sms: 2 }, statusWebhooks: { enabled: false } });
    await send(sim, SMS);
    await send(sim, SMS);
    clock.advance(1);
    expect((await send(sim, SMS)).headers['retry-after']).toBe('1'); // frees in 999 ms
    const limiter = new RollingWindowLimiter({ sms: 1 });
    expect(limiter.tryAcquire('sms', 0)).toEqual({ ok: true });
    expect(limiter.tryAcquire('sms', 1)).toEqual({ ok: false, retryAfterMs: 999, scope: 'sms' });
  });

  it('counts each channel on its own, and `all` across them', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, rateLimits: { sms: 1, whatsapp: 1 }, statusWebhooks: { enabled: false } });
    expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await send(sim, WHATSAPP_TEMPLATE)).statusCode).toBe(202);
    expect((await send(sim, SMS)).statusCode).toBe(429);
    expect((await send(sim, WHATSAPP_TEMPLATE)).statusCode).toBe(429);

    const limiter = new RollingWindowLimiter({ all: 2 });
    expect(limiter.tryAcquire('sms', 0).ok).toBe(true);
    expect(limiter.tryAcquire('whatsapp', 10).ok).toBe(true);
    expect(limiter.tryAcquire('viber_service', 20)).toEqual({ ok: false, retryAfterMs: 980, scope: 'all' });
    expect(limiter.stats().viber_service).toMatchObject({ throttled: 1, accepted: 0 });
  });

  it('no 1000 ms window of the accepted timestamps exceeds the limit, under a real burst', async () => {
    sim = testSimulator({ rateLimits: { sms: 20 }, statusWebhooks: { enabled: false } });
    const deadline = Date.now() + 2300;
    let refused = 0;
    while (Date.now() < deadline) {
      const res = await send(sim, SMS);
      if (res.statusCode === 429) refused++;
      else expect(res.statusCode).toBe(202);
    }
    const accepted = sim.store.messages().map((m) => Date.parse(m.arrivedAt));
    expect(refused).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThanOrEqual(40); // the limit was reached in each second, not avoided
    expect(maxInAnyWindow(accepted)).toBe(20);
    expect((await stats(sim)).channels.sms).toMatchObject({ accepted: accepted.length, throttled: refused, maxPerSecond: 20 });
  });

  it('a limit of 0, or none, is unlimited', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, rateLimits: { sms: 0 }, statusWebhooks: { enabled: false } });
    for (let i = 0; i < 50; i++) expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await stats(sim)).channels.sms).toEqual({ limit: 0, accepted: 50, throttled: 0, maxPerSecond: 50 });
  });

  it('the limits can be changed at runtime through PATCH /_sim/settings', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, statusWebhooks: { enabled: false } });
    for (let i = 0; i < 3; i++) expect((await send(sim, SMS)).statusCode).toBe(202);
    const res = await sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { rateLimits: { sms: 2 } } });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ rateLimits: Record<string, number> }>().rateLimits).toMatchObject({ sms: 2, whatsapp: 0, all: 0 });
    // Three already in this second: room again only when two of them have left.
    expect((await send(sim, SMS)).statusCode).toBe(429);
    clock.advance(1000);
    expect((await send(sim, SMS)).statusCode).toBe(202);
    const bad = await sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { rateLimits: { telegram: 2 } } });
    expect(bad.statusCode).toBe(400);
  });

  it('DELETE /_sim/messages empties the windows and zeroes the counters', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, rateLimits: { sms: 1 }, statusWebhooks: { enabled: false } });
    await send(sim, SMS);
    expect((await send(sim, SMS)).statusCode).toBe(429);
    expect((await sim.app.inject({ method: 'DELETE', url: '/_sim/messages' })).statusCode).toBe(204);
    expect((await stats(sim)).channels.sms).toEqual({ limit: 1, accepted: 0, throttled: 0, maxPerSecond: 0 });
    expect((await send(sim, SMS)).statusCode).toBe(202);
  });
});

describe('counted by arrival', () => {
  it('requests decided out of their arrival order: no second of arrivals holds more than the limit', () => {
    const limiter = new RollingWindowLimiter({ sms: 3 });
    // Arrivals at 0, 500, 900 and 1200, decided as 500, 1200, 900, 0: at 900 the window
    // [500, 1500) already holds two, so 900 fits; 0 would make [0, 1000) hold three plus itself.
    expect(limiter.tryAcquire('sms', 500).ok).toBe(true);
    expect(limiter.tryAcquire('sms', 1200).ok).toBe(true);
    expect(limiter.tryAcquire('sms', 900).ok).toBe(true);
    expect(limiter.tryAcquire('sms', 0).ok).toBe(true); // [0, 1000) holds 0, 500, 900: three
    expect(limiter.tryAcquire('sms', 950).ok).toBe(false); // [500, 1500) would hold four
    expect(limiter.tryAcquire('sms', 2100).ok).toBe(true);
    expect(limiter.stats().sms).toMatchObject({ accepted: 5, throttled: 1, maxPerSecond: 3 });
  });

  it('random arrivals decided in a shuffled order never put more than the limit in any 1000 ms of arrivals', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const limiter = new RollingWindowLimiter({ sms: 10 });
      const arrivals = Array.from({ length: 200 }, () => Math.floor(random() * 5000)).sort((a, b) => a - b);
      // Each decided up to 40 ms after a later arrival: a small, random disorder.
      const decided = arrivals.map((t) => ({ t, at: t + random() * 40 })).sort((a, b) => a.at - b.at);
      const accepted = decided.filter(({ t }) => limiter.tryAcquire('sms', t).ok).map(({ t }) => t);
      expect(maxInAnyWindow(accepted)).toBeLessThanOrEqual(10);
      expect(accepted.length).toBeGreaterThan(40); // the limit was used, not avoided
    }
  });

  it('a request held by injected latency is counted at its arrival', async () => {
    sim = testSimulator({ rateLimits: { sms: 50 }, statusWebhooks: { enabled: false } });
    await sim.app.inject({ method: 'POST', url: '/_sim/faults', payload: { latencyMs: 200 } });
    const res = await send(sim, SMS);
    expect(res.statusCode).toBe(202);
    const [m] = sim.store.messages();
    expect(Date.parse(m!.acceptedAt) - Date.parse(m!.arrivedAt)).toBeGreaterThanOrEqual(190);
  });
});

describe('TimestampRing', () => {
  it('keeps order across growth and wrap-around', () => {
    const ring = new TimestampRing();
    for (let i = 0; i < 50; i++) ring.push(i);
    for (let i = 0; i < 40; i++) ring.shift();
    for (let i = 50; i < 300; i++) ring.push(i);
    expect(ring.size).toBe(260);
    expect(Array.from({ length: ring.size }, (_, i) => ring.at(i))).toEqual(Array.from({ length: 260 }, (_, i) => i + 40));
  });
});
