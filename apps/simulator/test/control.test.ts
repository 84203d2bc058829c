import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/app.ts';
import { manualClock, send, sendOk, SMS, startCapture, testSimulator, until, VIBER, WHATSAPP_TEMPLATE, type Capture } from './helpers.ts';

/*
 * The inspection API: counters at GET /_sim/stats, runtime settings, a reset that forgets
 * everything but the settings; and each outbound line of a conversation with its latest status
 * (what the phone page draws its ticks from).
 */

let capture: Capture;
let sim: Simulator;

beforeAll(async () => {
  capture = await startCapture();
});
afterAll(async () => {
  await capture.close();
});
beforeEach(() => {
  capture.hooks.length = 0;
  capture.answer = () => 200;
});
afterEach(async () => {
  await sim?.app.close();
});

interface Stats {
  since: string;
  channels: Record<string, { limit: number; accepted: number; throttled: number; maxPerSecond: number }>;
  statuses: Record<string, number>;
  webhooks: Record<string, { attempts: number; delivered: number; retries: number; failed: number; pending: number }>;
  faults: Record<string, number>;
}
const stats = async () => (await sim.app.inject({ method: 'GET', url: '/_sim/stats' })).json<Stats>();

describe('GET /_sim/stats', () => {
  it('counts accepted and throttled per channel, the busiest second, statuses and webhooks', async () => {
    const clock = manualClock();
    sim = testSimulator({ webhookBaseUrl: capture.url, now: clock.now, rateLimits: { sms: 3 }, statusWebhooks: { delayMs: 1 } });
    for (let i = 0; i < 5; i++) await send(sim, SMS); // 3 accepted, 2 throttled
    clock.advance(1000);
    await sendOk(sim, SMS);
    await sendOk(sim, VIBER);
    await sendOk(sim, WHATSAPP_TEMPLATE);
    await sim.app.inject({ method: 'POST', url: '/_sim/phones/sms/447700900123/send', payload: { text: 'HELP' } });
    // Counted once the simulator has the application's answer, which comes after the capture saw the request.
    await until('statuses', () => sim.ctx.sender.counters().status.delivered === 4 * 2 + 3 + 3);

    const s = await stats();
    expect(s.channels.sms).toEqual({ limit: 3, accepted: 4, throttled: 2, maxPerSecond: 3 });
    expect(s.channels.viber_service).toEqual({ limit: 0, accepted: 1, throttled: 0, maxPerSecond: 1 });
    expect(s.channels.whatsapp).toMatchObject({ accepted: 1, throttled: 0 });
    expect(s.channels.messenger).toMatchObject({ accepted: 0 });
    expect(s.channels.all).toMatchObject({ accepted: 6, maxPerSecond: 3 });
    expect(s.statuses).toEqual({ submitted: 6, delivered: 6, read: 2, rejected: 0, undeliverable: 0 });
    expect(s.webhooks.status).toEqual({ attempts: 14, delivered: 14, retries: 0, failed: 0, pending: 0 });
    expect(s.webhooks.inbound).toEqual({ attempts: 1, delivered: 1, retries: 0, failed: 0, pending: 0 });
    expect(s.faults).toEqual({ delayed: 0, errors: 0, outageErrors: 0, resets: 0, storm: 0 });
    expect(s.since).toBe(new Date(clock.now() - 1000).toISOString());
  });
});

describe('DELETE /_sim/messages', () => {
  it('forgets messages, phones, windows, counters and rate windows, and cancels pending statuses; keeps settings', async () => {
    const clock = manualClock();
    sim = testSimulator({ webhookBaseUrl: capture.url, now: clock.now, rateLimits: { sms: 1 }, statusWebhooks: { delayMs: 200 } });
    await sim.app.inject({ method: 'PUT', url: '/_sim/phones/whatsapp/447700900123/last-inbound', payload: { at: clock.now() } });
    await sendOk(sim, SMS);
    expect((await send(sim, SMS)).statusCode).toBe(429);

    expect((await sim.app.inject({ method: 'DELETE', url: '/_sim/messages' })).statusCode).toBe(204);
    await new Promise((r) => setTimeout(r, 300));
    expect(capture.on('/webhooks/status')).toEqual([]); // the scheduled statuses were dropped
    const s = await stats();
    expect(s.channels.sms).toEqual({ limit: 1, accepted: 0, throttled: 0, maxPerSecond: 0 });
    expect(s.statuses.submitted).toBe(0);
    const whatsapp = (await sim.app.inject({ method: 'GET', url: '/_sim/phones/whatsapp/447700900123' })).json<{ window: { lastInboundAt: unknown } }>();
    expect(whatsapp.window.lastInboundAt).toBeNull();
    expect((await send(sim, SMS)).statusCode).toBe(202);
    expect((await sim.app.inject({ method: 'GET', url: '/_sim/messages' })).json()).toMatchObject({ total: 1, acceptedTotal: 1 });
  });
});

describe('/_sim/settings', () => {
  it('shows the settings in force and changes them at runtime', async () => {
    sim = testSimulator({ webhookBaseUrl: capture.url });
    const before = (await sim.app.inject({ method: 'GET', url: '/_sim/settings' })).json();
    expect(before).toEqual({
      rateLimits: { sms: 0, mms: 0, whatsapp: 0, messenger: 0, viber_service: 0, all: 0 },
      statusWebhooks: { enabled: true, delayMs: 50, failRate: 0, failStatus: 'rejected', failCode: 1230, failNumbers: {}, deliveryDelayMs: 0 },
      webhookDelivery: { retries: 5, retryBaseMs: 500, timeoutMs: 5000 },
      whatsappWindow: true,
      smsInbound: { format: 'messages', method: 'POST' },
    });
    const res = await sim.app.inject({
      method: 'PATCH',
      url: '/_sim/settings',
      payload: { statusWebhooks: { delayMs: 1, failNumbers: { '447700900123': { status: 'undeliverable' } } }, webhookDelivery: { retries: 1 } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      statusWebhooks: { enabled: true, delayMs: 1, failNumbers: { '447700900123': { status: 'undeliverable', code: 1240 } } },
      webhookDelivery: { retries: 1, retryBaseMs: 500 },
    });
    const uuid = await sendOk(sim, SMS);
    await until('failed', () => capture.on('/webhooks/status').length === 2);
    expect(capture.on('/webhooks/status').map((h) => [h.params.message_uuid, h.params.status])).toEqual([
      [uuid, 'submitted'],
      [uuid, 'undeliverable'],
    ]);
  });

  it.each([
    ['an unknown setting', { colour: 'blue' }],
    ['a negative delay', { statusWebhooks: { delayMs: -1 } }],
    ['a fail rate over 1', { statusWebhooks: { failRate: 2 } }],
    ['a status Vonage does not report', { statusWebhooks: { failStatus: 'failed' } }],
  ])('refuses %s with a 400', async (_name, payload) => {
    sim = testSimulator();
    expect((await sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload })).statusCode).toBe(400);
  });
});

describe('the conversation shows each outbound message with its latest status', () => {
  it('moves from submitted to delivered to read; a failure shows as such', async () => {
    sim = testSimulator({
      webhookBaseUrl: capture.url,
      statusWebhooks: { delayMs: 100, failNumbers: { '447700900666': { status: 'rejected', code: 1240 } } },
    });
    await sim.app.inject({ method: 'POST', url: '/_sim/phones/viber_service/447700900123/send', payload: { text: 'MSFT' } });
    const uuid = await sendOk(sim, VIBER);
    const line = async (channel = 'viber_service', number = '447700900123') =>
      (await sim.app.inject({ method: 'GET', url: `/_sim/phones/${channel}/${number}` })).json<{ conversation: { direction: string; status?: string; messageUuid: string }[] }>()
        .conversation.find((e) => e.direction === 'out');
    expect(await line()).toMatchObject({ messageUuid: uuid });
    expect((await line())!.status).toBeUndefined(); // nothing yet: the first status comes after the delay
    await until('submitted', () => capture.on('/webhooks/status').length === 1);
    expect(['submitted', 'delivered']).toContain((await line())!.status);
    await until('three statuses', () => capture.on('/webhooks/status').length === 3);
    expect((await line())!.status).toBe('read');

    await sendOk(sim, { ...SMS, to: '447700900666' });
    await until('rejected', () => capture.on('/webhooks/status').length === 4);
    expect((await line('sms', '447700900666'))!.status).toBe('rejected');
  });
});
