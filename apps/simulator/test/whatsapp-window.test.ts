import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/app.ts';
import { manualClock, sendOk, startCapture, testSimulator, until, WHATSAPP_TEMPLATE, WHATSAPP_TEXT, type Capture } from './helpers.ts';

/*
 * WhatsApp's 24-hour customer-care window, as a WhatsApp phone enforces it: free text to a user
 * who has not written in the last 24 hours (or ever) is accepted (202) but then refused: a
 * `rejected` status with error 1340, and the phone never shows it. Templates always arrive.
 */

const PHONE = '447700900123';
const HOUR = 60 * 60 * 1000;
let capture: Capture;
let sim: Simulator;
let clock: ReturnType<typeof manualClock>;

beforeAll(async () => {
  capture = await startCapture();
});
afterAll(async () => {
  await capture.close();
});
beforeEach(() => {
  capture.hooks.length = 0;
  clock = manualClock();
  sim = testSimulator({ webhookBaseUrl: capture.url, now: clock.now, statusWebhooks: { delayMs: 2 } });
});
afterEach(async () => {
  await sim.app.close();
});

const statusesOf = (uuid: string) => capture.on('/webhooks/status').map((h) => h.params).filter((b) => b.message_uuid === uuid);
const finalStatus = (uuid: string, count: number) => until(`${count} statuses`, () => statusesOf(uuid).length === count && statusesOf(uuid));
const shown = () => sim.store.conversation('whatsapp', PHONE).filter((e) => e.direction === 'out').map((e) => e.messageUuid);
const phoneWrites = (text = 'MSFT') => sim.app.inject({ method: 'POST', url: `/_sim/phones/whatsapp/${PHONE}/send`, payload: { text } });

describe('outside the window', () => {
  it('free text to a phone that never wrote is accepted, then rejected with 1340, and not shown', async () => {
    const uuid = await sendOk(sim, WHATSAPP_TEXT);
    const [status] = await finalStatus(uuid, 1);
    expect(status).toMatchObject({ status: 'rejected', channel: 'whatsapp', to: PHONE });
    expect(status!.error).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1340', title: '1340', detail: expect.stringMatching(/^Outside of the allowed window/) });
    expect(shown()).toEqual([]);
    expect(sim.store.messages({ to: PHONE })[0]).toMatchObject({ messageUuid: uuid, status: 'rejected', refused: true });
  });

  it('a template arrives, and is shown', async () => {
    const uuid = await sendOk(sim, WHATSAPP_TEMPLATE);
    expect((await finalStatus(uuid, 3)).map((s) => s.status)).toEqual(['submitted', 'delivered', 'read']);
    expect(shown()).toEqual([uuid]);
  });

  it('free text 24 hours after the phone last wrote is rejected again', async () => {
    await phoneWrites();
    clock.advance(24 * HOUR - 1);
    const inside = await sendOk(sim, WHATSAPP_TEXT);
    clock.advance(1);
    const outside = await sendOk(sim, WHATSAPP_TEXT);
    expect((await finalStatus(inside, 3)).map((s) => s.status)).toEqual(['submitted', 'delivered', 'read']);
    expect((await finalStatus(outside, 1)).map((s) => s.status)).toEqual(['rejected']);
    expect(shown()).toEqual([inside]);
  });
});

describe('inside the window', () => {
  it('free text after the phone wrote is delivered, read and shown', async () => {
    await phoneWrites();
    clock.advance(HOUR);
    const uuid = await sendOk(sim, WHATSAPP_TEXT);
    expect((await finalStatus(uuid, 3)).map((s) => s.status)).toEqual(['submitted', 'delivered', 'read']);
    expect(shown()).toEqual([uuid]);
  });

  it("is per phone: another phone's message opens nothing", async () => {
    await sim.app.inject({ method: 'POST', url: '/_sim/phones/whatsapp/447700900999/send', payload: { text: 'MSFT' } });
    const uuid = await sendOk(sim, WHATSAPP_TEXT);
    expect((await finalStatus(uuid, 1))[0]!.status).toBe('rejected');
  });

  it('an SMS from the same number opens no WhatsApp window', async () => {
    await sim.app.inject({ method: 'POST', url: `/_sim/phones/sms/${PHONE}/send`, payload: { text: 'MSFT' } });
    const uuid = await sendOk(sim, WHATSAPP_TEXT);
    expect((await finalStatus(uuid, 1))[0]!.status).toBe('rejected');
  });
});

describe('setting the last inbound time through the control API', () => {
  const setLast = (at: unknown) => sim.app.inject({ method: 'PUT', url: `/_sim/phones/whatsapp/${PHONE}/last-inbound`, payload: { at } });
  const window = async () =>
    (await sim.app.inject({ method: 'GET', url: `/_sim/phones/whatsapp/${PHONE}` })).json<{ window: { enforced: boolean; lastInboundAt: string | null; openUntil: string | null } }>().window;

  it('opens, moves and closes the window', async () => {
    expect(await window()).toEqual({ enforced: true, lastInboundAt: null, openUntil: null });

    expect((await setLast(new Date(clock.now() - 23 * HOUR).toISOString())).statusCode).toBe(204);
    expect(await window()).toEqual({
      enforced: true,
      lastInboundAt: new Date(clock.now() - 23 * HOUR).toISOString(),
      openUntil: new Date(clock.now() + HOUR).toISOString(),
    });
    const inside = await sendOk(sim, WHATSAPP_TEXT);

    expect((await setLast(clock.now() - 25 * HOUR)).statusCode).toBe(204);
    expect((await window()).openUntil).toBeNull();
    const late = await sendOk(sim, WHATSAPP_TEXT);

    expect((await setLast(null)).statusCode).toBe(204);
    expect((await window()).lastInboundAt).toBeNull();

    expect((await finalStatus(inside, 3)).at(-1)!.status).toBe('read');
    expect((await finalStatus(late, 1))[0]!.status).toBe('rejected');
  });

  it('refuses a time that is not one', async () => {
    expect((await setLast('yesterday')).statusCode).toBe(400);
    expect((await setLast(undefined)).statusCode).toBe(400);
    expect((await sim.app.inject({ method: 'PUT', url: '/_sim/phones/whatsapp/abc/last-inbound', payload: { at: 0 } })).statusCode).toBe(400);
  });
});

it('SIMULATOR_WHATSAPP_WINDOW=off lets free text through to anyone', async () => {
  const res = await sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { whatsappWindow: false } });
  expect(res.json()).toMatchObject({ whatsappWindow: false });
  const uuid = await sendOk(sim, WHATSAPP_TEXT);
  expect((await finalStatus(uuid, 3)).at(-1)!.status).toBe('read');
  expect(shown()).toEqual([uuid]);
});
