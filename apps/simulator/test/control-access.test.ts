import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/app.ts';
import { AUTHORIZATION, SMS, startCapture, testSimulator, type Capture } from './helpers.ts';

/*
 * /_sim drives the phones (each a webhook signed with the account's real secret) and the
 * settings: only this machine may use it, or whoever holds SIMULATOR_TOKEN. The Messages API,
 * the phone page and /healthz stay open as before.
 */

const TOKEN = 'sim-control-token-0123456789';
const STRANGER = '10.0.0.5';

let capture: Capture;
const sims: Simulator[] = [];

beforeAll(async () => {
  capture = await startCapture();
});
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.app.close()));
  capture.hooks.length = 0;
});
afterAll(async () => capture?.close());

function start(controlToken?: string): Simulator {
  const sim = testSimulator({ webhookBaseUrl: capture.url, controlToken, statusWebhooks: { enabled: false } });
  sims.push(sim);
  return sim;
}

/** Every /_sim route the app has, with its parameters filled in, so a route added later is covered too. */
async function controlRoutes(sim: Simulator): Promise<InjectOptions[]> {
  const routes: InjectOptions[] = [];
  // The /_sim routes sit in a plugin that loads at ready(): a hook added now sees each of them.
  sim.app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/_sim')) return;
    const url = route.url.replace(':channel', 'sms').replace(':number', '447700900123');
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method: method as 'GET', url });
  });
  await sim.app.ready();
  return routes;
}

const send = { method: 'POST', url: '/_sim/phones/sms/447700900123/send', payload: { text: 'STOP' } } as const;

describe('the control API (/_sim)', () => {
  it('covers every /_sim route the simulator has', async () => {
    const urls = (await controlRoutes(start())).map((r) => `${r.method} ${r.url}`);
    expect(urls).toEqual(
      expect.arrayContaining([
        'GET /_sim/messages',
        'DELETE /_sim/messages',
        'PATCH /_sim/settings',
        'POST /_sim/faults',
        'POST /_sim/phones/sms/447700900123/send',
        'PUT /_sim/phones/whatsapp/447700900123/last-inbound',
      ]),
    );
    expect(urls.length).toBeGreaterThanOrEqual(12);
  });

  it.each([
    ['no token is set', undefined],
    ['a token is set', TOKEN],
  ])('answers another host 401 on every route, and sends nothing, when %s', async (_when, token) => {
    const sim = start(token);
    for (const route of await controlRoutes(sim)) {
      const res = await sim.app.inject({ ...route, remoteAddress: STRANGER, payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="tickercast-simulator"');
      expect(res.json<{ reason: string }>().reason).toMatch(token ? /only with its token: Authorization: Bearer <SIMULATOR_TOKEN>/ : /answers this machine only/);
    }
    expect((await sim.app.inject({ ...send, remoteAddress: STRANGER })).statusCode).toBe(401);
    expect(capture.hooks).toEqual([]);
    expect(sim.store.phones()).toEqual([]);
  });

  it('lets another host in with the token, as a Bearer header', async () => {
    const sim = start(TOKEN);
    const res = await sim.app.inject({ ...send, remoteAddress: STRANGER, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(202);
    expect(res.json<{ webhook: number }>().webhook).toBe(200);
    expect(capture.on('/webhooks/inbound')).toHaveLength(1);
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['the token as Basic', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s, even from this machine', async (_name, authorization) => {
    const sim = start(TOKEN);
    for (const remoteAddress of [STRANGER, '127.0.0.1']) {
      const res = await sim.app.inject({ ...send, remoteAddress, headers: { authorization } });
      expect(res.statusCode).toBe(401);
    }
    expect(capture.hooks).toEqual([]);
  });

  it.each(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])('lets this machine (%s) in without a token, as the tests, chaos and bench do', async (remoteAddress) => {
    const sim = start(TOKEN);
    expect((await sim.app.inject({ ...send, remoteAddress })).statusCode).toBe(202);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/stats', remoteAddress, headers: { host: '[::1]:9100' } })).statusCode).toBe(200);
  });

  it('believes no X-Forwarded-For', async () => {
    const sim = start();
    const res = await sim.app.inject({ ...send, remoteAddress: STRANGER, headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' } });
    expect(res.statusCode).toBe(401);
  });

  it('refuses a page on another site that reaches it from this machine by DNS rebinding (its Host is not localhost)', async () => {
    const sim = start();
    const res = await sim.app.inject({ ...send, remoteAddress: '127.0.0.1', headers: { host: 'rebind.attacker.example:9100' } });
    expect(res.statusCode).toBe(401);
    expect(capture.hooks).toEqual([]);
  });

  it('guards the route however its path is spelled', async () => {
    const sim = start();
    for (const url of ['/%5Fsim/phones/sms/447700900123/send', '/_sim/phones/sms/447700900123/send/', '/_sim/phones/sms/447700900123/send?x=1', '/_sim/phones/%73ms/447700900123/send']) {
      const res = await sim.app.inject({ method: 'POST', url, payload: { text: 'STOP' }, remoteAddress: STRANGER });
      expect([401, 404], url).toContain(res.statusCode);
    }
    expect(capture.hooks).toEqual([]);
  });

  it('leaves the Messages API, the phone page and /healthz as they were for other hosts', async () => {
    const sim = start(TOKEN);
    expect((await sim.app.inject({ method: 'GET', url: '/', remoteAddress: STRANGER })).statusCode).toBe(200);
    expect((await sim.app.inject({ method: 'GET', url: '/healthz', remoteAddress: STRANGER })).statusCode).toBe(200);
    const res = await sim.app.inject({ method: 'POST', url: '/v1/messages', remoteAddress: STRANGER, headers: { authorization: AUTHORIZATION }, payload: SMS });
    expect(res.statusCode).toBe(202);
  });
});
