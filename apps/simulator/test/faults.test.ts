import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/app.ts';
import { AUTHORIZATION, manualClock, send, SMS, testSimulator } from './helpers.ts';

/*
 * Faults on POST /v1/messages, set and cleared through /_sim/faults (or at start): latency with
 * jitter, an error rate, an outage (5xx, or connections reset) and a 429 storm for a while.
 */

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.app.close();
  sim = undefined;
});

const setFaults = (s: Simulator, payload: unknown) => s.app.inject({ method: 'POST', url: '/_sim/faults', payload: payload as Record<string, unknown> });
const faultStats = async (s: Simulator) => (await s.app.inject({ method: 'GET', url: '/_sim/stats' })).json<{ faults: Record<string, number> }>().faults;

describe('latency', () => {
  it('delays every answer by latencyMs plus up to jitterMs', async () => {
    sim = testSimulator({ statusWebhooks: { enabled: false }, seed: 3 });
    await setFaults(sim, { latencyMs: 80, jitterMs: 40 });
    const took: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      expect((await send(sim, SMS)).statusCode).toBe(202);
      took.push(performance.now() - t0);
    }
    for (const t of took) {
      expect(t).toBeGreaterThanOrEqual(78);
      expect(t).toBeLessThan(400);
    }
    expect((await faultStats(sim)).delayed).toBe(4);
  });
});

describe('error rate', () => {
  it('1: every request is a 500 problem and nothing is accepted', async () => {
    sim = testSimulator({ statusWebhooks: { enabled: false } });
    await setFaults(sim, { errorRate: 1 });
    const res = await send(sim, SMS);
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ title: 'Internal error', instance: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('a fraction: about that share fails, the same ones for the same seed', async () => {
    const run = async (seed: number) => {
      const s = testSimulator({ statusWebhooks: { enabled: false }, seed, faults: { errorRate: 0.25 } });
      try {
        const codes: number[] = [];
        for (let i = 0; i < 200; i++) codes.push((await send(s, SMS)).statusCode);
        return { codes, stats: await faultStats(s), accepted: s.store.acceptedTotal };
      } finally {
        await s.app.close();
      }
    };
    const a = await run(11);
    const b = await run(11);
    const errors = a.codes.filter((c) => c === 500).length;
    expect(b.codes).toEqual(a.codes);
    expect(errors).toBeGreaterThan(25);
    expect(errors).toBeLessThan(75);
    expect(a.codes.filter((c) => c !== 500 && c !== 202)).toEqual([]);
    expect(a.stats.errors).toBe(errors);
    expect(a.accepted).toBe(200 - errors);
  });
});

describe('an outage', () => {
  it('answers every request with the 5xx for N seconds, then recovers', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, statusWebhooks: { enabled: false } });
    const set = await setFaults(sim, { outage: { seconds: 30, status: 502 } });
    expect(set.json()).toMatchObject({ outage: { mode: 'error', status: 502, remainingMs: 30_000 } });
    expect((await send(sim, SMS)).statusCode).toBe(502);
    clock.advance(29_999);
    expect((await send(sim, SMS)).statusCode).toBe(502);
    clock.advance(1);
    expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/faults' })).json()).toMatchObject({ outage: null });
    expect((await faultStats(sim)).outageErrors).toBe(2);
  });

  it('answers 503 by default, before even looking at the credentials', async () => {
    sim = testSimulator({ statusWebhooks: { enabled: false } });
    await setFaults(sim, { outage: { seconds: 5 } });
    const res = await sim.app.inject({ method: 'POST', url: '/v1/messages', payload: SMS });
    expect(res.statusCode).toBe(503);
  });

  it('in reset mode drops the connection with no answer', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, statusWebhooks: { enabled: false } });
    const url = await sim.app.listen({ port: 0, host: '127.0.0.1' });
    await setFaults(sim, { outage: { seconds: 10, mode: 'reset' } });
    const post = () => fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' }, body: JSON.stringify(SMS) });

    await expect(post()).rejects.toThrow(/fetch failed/);
    await expect(post()).rejects.toThrow(/fetch failed/);
    await expect(send(sim, SMS)).rejects.toThrow(/destroyed before completion/);
    expect((await faultStats(sim)).resets).toBe(3);
    expect(sim.store.acceptedTotal).toBe(0);

    clock.advance(10_000);
    expect((await post()).status).toBe(202);
  });
});

describe('a 429 storm', () => {
  it('throttles every request with Retry-After for N seconds', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, statusWebhooks: { enabled: false } });
    await setFaults(sim, { storm: { seconds: 3, retryAfter: 7 } });
    const res = await send(sim, SMS);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1000', title: 'Rate Limit Hit' });
    clock.advance(3000);
    expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await faultStats(sim)).storm).toBe(1);
    // A storm is not the rate limit: the channel's own counters are untouched.
    const stats = (await sim.app.inject({ method: 'GET', url: '/_sim/stats' })).json<{ channels: { sms: { throttled: number; accepted: number } } }>();
    expect(stats.channels.sms).toMatchObject({ throttled: 0, accepted: 1 });
  });
});

describe('/_sim/faults', () => {
  it('GET shows what is in force; POST merges; DELETE clears everything', async () => {
    const clock = manualClock();
    sim = testSimulator({ now: clock.now, statusWebhooks: { enabled: false }, faults: { latencyMs: 1, storm: { seconds: 60 } } });
    const get = async () => (await sim!.app.inject({ method: 'GET', url: '/_sim/faults' })).json();
    expect(await get()).toEqual({ latencyMs: 1, jitterMs: 0, errorRate: 0, outage: null, storm: { retryAfter: 1, remainingMs: 60_000 } });
    await setFaults(sim, { errorRate: 0.5 });
    expect(await get()).toMatchObject({ latencyMs: 1, errorRate: 0.5, storm: { remainingMs: 60_000 } });
    expect((await sim.app.inject({ method: 'DELETE', url: '/_sim/faults' })).statusCode).toBe(204);
    expect(await get()).toEqual({ latencyMs: 0, jitterMs: 0, errorRate: 0, outage: null, storm: null });
    expect((await send(sim, SMS)).statusCode).toBe(202);
  });

  it.each([
    ['an error rate over 1', { errorRate: 1.5 }],
    ['an outage without its duration', { outage: {} }],
    ['an unknown outage mode', { outage: { seconds: 1, mode: 'flaky' } }],
    ['an unknown fault', { gremlins: true }],
  ])('refuses %s with a 400', async (_name, body) => {
    sim = testSimulator();
    const res = await setFaults(sim, body);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toEqual(expect.any(String));
  });

  it('faults touch only the Messages API, not the control API or the phones', async () => {
    sim = testSimulator({ faults: { outage: { seconds: 60 } } });
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/messages' })).statusCode).toBe(200);
    expect((await sim.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
