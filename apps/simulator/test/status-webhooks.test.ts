import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyMessagesWebhook } from '@tickercast/messages-client';
import { specAvailable, validateStatusWebhook, warnIfSpecMissing } from '../../../test/support/openapi.ts';
import type { Simulator } from '../src/app.ts';
import { MESSENGER, SMS, send, sendOk, sleep, startCapture, testSimulator, until, VIBER, WHATSAPP_TEMPLATE, WHATSAPP_TEXT, type Capture } from './helpers.ts';

/*
 * After its 202 each message goes through statuses, each posted (signed, when the account has a
 * signature secret) to the application's status URL or to the message's own webhook_url, as
 * Vonage posts the message-status webhook; failures by recipient or at a seeded rate; retries
 * until the application takes the webhook.
 */

warnIfSpecMissing();

const SECRET = 'the-account-signature-secret-0123';
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

const statuses = (uuid: string) =>
  capture
    .on('/webhooks/status')
    .map((h) => h.params as Record<string, unknown>)
    .filter((b) => b.message_uuid === uuid);

function start(options: Parameters<typeof testSimulator>[0] = {}) {
  sim = testSimulator({ webhookBaseUrl: capture.url, signatureSecret: SECRET, ...options, statusWebhooks: { delayMs: 5, ...options.statusWebhooks } });
  return sim;
}

describe('the statuses of a delivered message', () => {
  it.each([
    ['sms', SMS, ['submitted', 'delivered']],
    ['whatsapp (template)', WHATSAPP_TEMPLATE, ['submitted', 'delivered', 'read']],
    ['messenger', MESSENGER, ['submitted', 'delivered', 'read']],
    ['viber_service', VIBER, ['submitted', 'delivered', 'read']],
  ])('%s: %j in order, with the message fields', async (_name, body, expected) => {
    start();
    const uuid = await sendOk(sim, { ...body, client_ref: 'job-42' });
    const got = await until('statuses', () => statuses(uuid).length === expected.length && statuses(uuid));
    expect(got.map((b) => b.status)).toEqual(expected);
    for (const b of got) {
      expect(b).toMatchObject({ message_uuid: uuid, to: body.to, from: body.from, channel: body.channel, client_ref: 'job-42' });
      expect(Date.parse(b.timestamp as string)).not.toBeNaN();
      expect(b.error).toBeUndefined();
    }
    expect(got[0]!.usage).toEqual({ currency: 'EUR', price: expect.stringMatching(/^\d+(\.\d+)?$/) });
    // Nothing more arrives later.
    await new Promise((r) => setTimeout(r, 40));
    expect(statuses(uuid)).toHaveLength(expected.length);
    expect(sim.store.messages()[0]!.status).toBe(expected.at(-1));
  });

  it('leaves client_ref out when the message had none', async () => {
    start();
    const uuid = await sendOk(sim, SMS);
    const [first] = await until('submitted', () => statuses(uuid).length >= 1 && statuses(uuid));
    expect(first).not.toHaveProperty('client_ref');
  });

  it('each webhook carries an HS256 token over its exact body, as Vonage signs', async () => {
    start();
    const uuid = await sendOk(sim, SMS);
    await until('two statuses', () => statuses(uuid).length === 2);
    for (const hook of capture.on('/webhooks/status')) {
      const ok = await verifyMessagesWebhook({ authorization: hook.headers.authorization, rawBody: hook.raw, secret: SECRET });
      expect(ok).toMatchObject({ ok: true, value: { iss: 'Vonage', api_key: 'a1b2c3d4' } });
      expect((await verifyMessagesWebhook({ authorization: hook.headers.authorization, rawBody: hook.raw, secret: 'another-secret-0123456789' })).ok).toBe(false);
    }
  });

  it('is unsigned when no signature secret is set', async () => {
    start({ signatureSecret: undefined });
    const uuid = await sendOk(sim, SMS);
    await until('two statuses', () => statuses(uuid).length === 2);
    expect(capture.on('/webhooks/status').every((h) => h.headers.authorization === undefined)).toBe(true);
  });

  it("goes to the message's own webhook_url when it names one", async () => {
    start();
    const uuid = await sendOk(sim, { ...SMS, webhook_url: `${capture.url}/per-message/status` });
    await until('two statuses', () => capture.on('/per-message/status').length === 2);
    expect(capture.on('/per-message/status').map((h) => h.params.message_uuid)).toEqual([uuid, uuid]);
    expect(statuses(uuid)).toEqual([]);
  });

  it.each([
    ['another host', 'http://169.254.169.254/latest/meta-data'],
    ['another port of the same host', 'OTHER_PORT'],
    ['another scheme', 'HTTPS'],
  ])("refuses a webhook_url on %s with Vonage's 422 naming webhook_url, and posts nothing", async (_name, target) => {
    start();
    const other = await startCapture();
    try {
      const url = target === 'OTHER_PORT' ? `${other.url}/webhooks/status` : target === 'HTTPS' ? `${capture.url.replace('http:', 'https:')}/webhooks/status` : target;
      const res = await send(sim, { ...SMS, webhook_url: url });
      expect(res.statusCode).toBe(422);
      const problem = res.json<{ type: string; invalid_parameters: { name: string; reason: string }[] }>();
      expect(problem.type).toMatch(/#1150$/);
      expect(problem.invalid_parameters).toEqual([
        { name: 'webhook_url', reason: `the simulator posts webhooks only to ${capture.url} (SIMULATOR_WEBHOOK_URL, SIMULATOR_WEBHOOK_ALLOW)` },
      ]);
      expect(sim.store.acceptedTotal).toBe(0);
      await sleep(50);
      expect(other.hooks).toEqual([]);
      expect(capture.hooks).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('goes to a webhook_url on an origin SIMULATOR_WEBHOOK_ALLOW names', async () => {
    const other = await startCapture();
    try {
      start({ webhookAllow: [`${other.url}/ignored/path`] });
      const uuid = await sendOk(sim, { ...SMS, webhook_url: `${other.url}/hooks/status` });
      await until('two statuses', () => other.on('/hooks/status').length === 2);
      expect(other.on('/hooks/status').map((h) => h.params.message_uuid)).toEqual([uuid, uuid]);
    } finally {
      await other.close();
    }
  });

  it('the delay between statuses is configurable', async () => {
    start({ statusWebhooks: { delayMs: 60 } });
    const sentAt = Date.now();
    const uuid = await sendOk(sim, SMS);
    await until('two statuses', () => statuses(uuid).length === 2);
    const [submitted, delivered] = capture.on('/webhooks/status');
    expect(submitted!.at - sentAt).toBeGreaterThanOrEqual(55);
    expect(delivered!.at - submitted!.at).toBeGreaterThanOrEqual(45);
  });

  it('SIMULATOR_STATUS_WEBHOOKS=off: nothing is posted, the message simply ends delivered', async () => {
    start({ statusWebhooks: { enabled: false } });
    await sendOk(sim, WHATSAPP_TEMPLATE);
    await new Promise((r) => setTimeout(r, 40));
    expect(capture.hooks).toEqual([]);
    expect(sim.store.messages()[0]!.status).toBe('read');
  });
});

describe('failure outcomes', () => {
  it('by recipient: undeliverable after submitted, or rejected outright, with the error', async () => {
    start({
      statusWebhooks: {
        failNumbers: { '447700900666': { status: 'undeliverable', code: 1240 }, '447700900667': { status: 'rejected', code: 1050 } },
      },
    });
    const a = await sendOk(sim, { ...SMS, to: '447700900666' });
    const b = await sendOk(sim, { ...SMS, to: '447700900667' });
    const ok = await sendOk(sim, SMS);
    await until('statuses', () => statuses(a).length === 2 && statuses(b).length === 1 && statuses(ok).length === 2);
    expect(statuses(a).map((s) => s.status)).toEqual(['submitted', 'undeliverable']);
    expect(statuses(a)[1]!.error).toEqual({
      type: 'https://developer.vonage.com/api-errors/messages#1240',
      title: '1240',
      detail: expect.stringMatching(/opted out/),
      instance: expect.any(String),
    });
    expect(statuses(b).map((s) => s.status)).toEqual(['rejected']);
    expect(statuses(b)[0]!.error).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1050', title: '1050' });
    expect(statuses(ok).map((s) => s.status)).toEqual(['submitted', 'delivered']);
  });

  it('at a rate: the same seed fails the same messages, another seed others, about the rate', async () => {
    const outcomes = async (seed: number) => {
      const s = testSimulator({ seed, statusWebhooks: { enabled: false, failRate: 0.3 } });
      try {
        for (let i = 0; i < 200; i++) await sendOk(s, SMS);
        return s.store.messages().map((m) => m.status);
      } finally {
        await s.app.close();
      }
    };
    const first = await outcomes(7);
    const again = await outcomes(7);
    const other = await outcomes(8);
    const failed = first.filter((st) => st === 'rejected').length;
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(failed).toBeGreaterThan(35);
    expect(failed).toBeLessThan(85);
    expect(first.filter((st) => st !== 'rejected' && st !== 'delivered')).toEqual([]);
  });

  it('at a rate, the failures carry the configured status and code', async () => {
    start({ seed: 1, statusWebhooks: { failRate: 1, failStatus: 'undeliverable', failCode: 1230 } });
    const uuid = await sendOk(sim, SMS);
    const got = await until('statuses', () => statuses(uuid).length === 2 && statuses(uuid));
    expect(got.map((s) => s.status)).toEqual(['submitted', 'undeliverable']);
    expect((got[1]!.error as { type: string }).type).toMatch(/#1230$/);
  });
});

describe('ttl: a message the network holds longer than its ttl expires on the way', () => {
  it.each([
    ['an SMS ttl', { ...SMS, ttl: 20 }],
    ['a Viber ttl', { ...VIBER, viber_service: { category: 'transaction', ttl: 30 } }],
  ])('%s shorter than the delivery delay: submitted, then undeliverable with 1360, and the phone never shows it', async (_name, body) => {
    start({ statusWebhooks: { deliveryDelayMs: 31_000 } });
    const uuid = await sendOk(sim, body);
    const got = await until('statuses', () => statuses(uuid).length === 2 && statuses(uuid));
    expect(got.map((s) => s.status)).toEqual(['submitted', 'undeliverable']);
    expect(got[1]!.error).toMatchObject({ type: 'https://developer.vonage.com/api-errors/messages#1360', title: '1360' });
    expect(sim.store.conversation(body.channel, body.to)).toEqual([]);
    if (specAvailable) for (const b of got) expect(validateStatusWebhook(b).errors).toEqual([]);
  });

  it('a ttl longer than the delay, or none at all, is delivered as usual', async () => {
    start({ statusWebhooks: { deliveryDelayMs: 31_000 } });
    const long = await sendOk(sim, { ...SMS, ttl: 32 });
    const none = await sendOk(sim, { ...SMS, to: '447700900124' });
    await until('statuses', () => statuses(long).length === 2 && statuses(none).length === 2);
    expect(statuses(long).map((s) => s.status)).toEqual(['submitted', 'delivered']);
    expect(statuses(none).map((s) => s.status)).toEqual(['submitted', 'delivered']);
    expect(sim.store.conversation('sms', SMS.to)).toHaveLength(1);
  });

  it('the delay is a runtime setting', async () => {
    start();
    const res = await sim.app.inject({ method: 'PATCH', url: '/_sim/settings', payload: { statusWebhooks: { deliveryDelayMs: 60_000 } } });
    expect(res.json<{ statusWebhooks: { deliveryDelayMs: number } }>().statusWebhooks.deliveryDelayMs).toBe(60_000);
    const uuid = await sendOk(sim, { ...SMS, ttl: 59 });
    await until('expired', () => statuses(uuid).length === 2);
    expect(statuses(uuid)[1]!.status).toBe('undeliverable');
  });
});

describe('webhook retries', () => {
  it('retries a status webhook that gets no 200/204, until it does, at doubling intervals', async () => {
    start({ webhookDelivery: { retryBaseMs: 10, retries: 5 } });
    const refusals = [500, 429, 404];
    let submittedSeen = 0;
    capture.answer = (h) => (h.params.status === 'submitted' ? (refusals[submittedSeen++] ?? 200) : 200);
    const uuid = await sendOk(sim, SMS);
    await until('delivered at last', () => sim.ctx.sender.counters().status.delivered === 2, 5000);
    // The delivered status is not held back by the submitted one's retries: they may cross, as Vonage's do.
    const submitted = statuses(uuid).filter((b) => b.status === 'submitted');
    expect(submitted).toHaveLength(4);
    expect(new Set(submitted.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(statuses(uuid).filter((b) => b.status === 'delivered')).toHaveLength(1);
    const at = capture.on('/webhooks/status').filter((h) => h.params.status === 'submitted').map((h) => h.at);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(9);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(19);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(39);
    const stats = (await sim.app.inject({ method: 'GET', url: '/_sim/stats' })).json<{ webhooks: Record<string, unknown> }>();
    expect(stats.webhooks.status).toEqual({ attempts: 5, delivered: 2, retries: 3, failed: 0, pending: 0 });
  });

  it('gives up after the configured number of retries, and counts it', async () => {
    start({ webhookDelivery: { retryBaseMs: 5, retries: 2 } });
    capture.answer = () => 503;
    const uuid = await sendOk(sim, SMS);
    await until('given up', () => sim.ctx.sender.counters().status.failed === 2, 5000);
    expect(statuses(uuid)).toHaveLength(6);
    expect(sim.ctx.sender.counters().status).toEqual({ attempts: 6, delivered: 0, retries: 4, failed: 2, pending: 0 });
  });

  it('lists the latest attempts at GET /_sim/webhooks', async () => {
    start({ webhookDelivery: { retryBaseMs: 5, retries: 1 } });
    let first = true;
    capture.answer = (h) => (h.params.status === 'submitted' && first ? ((first = false), 500) : 200);
    await sendOk(sim, SMS);
    await until('done', () => sim.ctx.sender.counters().status.delivered === 2);
    const res = await sim.app.inject({ method: 'GET', url: '/_sim/webhooks?kind=status' });
    const { webhooks } = res.json<{ webhooks: { kind: string; attempt: number; outcome: number; url: string; body: string }[] }>();
    const submitted = webhooks.filter((w) => (JSON.parse(w.body) as { status: string }).status === 'submitted');
    expect(submitted.map((w) => [w.attempt, w.outcome])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(webhooks).toHaveLength(3);
    expect(webhooks.every((w) => w.kind === 'status' && w.url === `${capture.url}/webhooks/status`)).toBe(true);
  });
});

describe.skipIf(!specAvailable)("every status webhook against Vonage's x-webhooks message-status schema (patched, see test/support/openapi.ts)", () => {
  it('for each channel, status and failure', async () => {
    start({ statusWebhooks: { failNumbers: { '447700900666': { status: 'undeliverable', code: 1240 }, '447700900667': { status: 'rejected', code: 1050 } } } });
    await sim.app.inject({ method: 'PUT', url: '/_sim/phones/whatsapp/447700900123/last-inbound', payload: { at: Date.now() } });
    const sent = [
      await sendOk(sim, { ...SMS, client_ref: 'r1' }),
      await sendOk(sim, WHATSAPP_TEMPLATE),
      await sendOk(sim, WHATSAPP_TEXT),
      await sendOk(sim, { ...WHATSAPP_TEXT, to: '447700900999' }), // outside the window: rejected 1340
      // A page-scoped id of at most 15 characters: the spec's status schema also applies ToNumber's maxLength to Messenger's `to`.
      await sendOk(sim, { ...MESSENGER, to: '554821309876543' }),
      await sendOk(sim, VIBER),
      await sendOk(sim, { ...SMS, to: '447700900666' }),
      await sendOk(sim, { ...SMS, to: '447700900667' }),
    ];
    const expected = 2 + 3 + 3 + 1 + 3 + 3 + 2 + 1;
    await until('all statuses', () => capture.on('/webhooks/status').length === expected);
    const bodies = capture.on('/webhooks/status').map((h) => h.params);
    expect(new Set(bodies.map((b) => b.message_uuid))).toEqual(new Set(sent));
    expect(new Set(bodies.map((b) => b.status))).toEqual(new Set(['submitted', 'delivered', 'read', 'rejected', 'undeliverable']));
    for (const body of bodies) {
      const check = validateStatusWebhook(body);
      expect({ body, errors: check.errors }).toEqual({ body, errors: [] });
      expect(check.valid).toBe(true);
    }
  });
});

describe('failover: the messages Vonage sends itself when the one before is not delivered', () => {
  const PHONE = WHATSAPP_TEXT.to;
  const smsLeg = { channel: 'sms', message_type: 'text', to: PHONE, from: '447700900000', text: WHATSAPP_TEXT.text, client_ref: 'job-7' };
  const all = () => capture.on('/webhooks/status').map((h) => h.params as { message_uuid: string; channel: string; status: string; workflow?: Record<string, string>; error?: { type: string } });

  it('a rejected WhatsApp message is followed by its SMS: each with its own uuid and statuses, both naming the workflow', async () => {
    start({ statusWebhooks: { failNumbers: { [`whatsapp:${PHONE}`]: { status: 'rejected', code: 1300 } } } });
    sim.ctx.windows.record(PHONE, Date.now());
    const res = await send(sim, { ...WHATSAPP_TEXT, client_ref: 'job-7', failover: [smsLeg] });
    expect(res.statusCode).toBe(202);
    const { message_uuid: first, workflow_id: workflow } = res.json<{ message_uuid: string; workflow_id: string }>();
    expect(workflow).toEqual(expect.any(String));

    const got = await until('both legs', () => all().length === 3 && all());
    expect(got.map((b) => [b.channel, b.status, b.workflow?.items_number])).toEqual([
      ['whatsapp', 'rejected', '1'],
      ['sms', 'submitted', '2'],
      ['sms', 'delivered', '2'],
    ]);
    expect(got[0]!.message_uuid).toBe(first);
    expect(got[0]!.error?.type).toMatch(/#1300$/);
    expect(got[1]!.message_uuid).not.toBe(first);
    for (const b of got) expect(b.workflow).toEqual({ workflow_id: workflow, items_number: expect.any(String), items_total: '2' });
    expect(sim.store.conversation('sms', PHONE).map((e) => e.text)).toEqual([WHATSAPP_TEXT.text]);
    expect(sim.store.conversation('whatsapp', PHONE).map((e) => e.status)).toEqual(['rejected']);
    if (specAvailable) for (const b of got) expect(validateStatusWebhook(b).errors).toEqual([]);
  });

  it("the failover leg counts against its own channel's rate: an SMS request in the same second over the limit is throttled", async () => {
    start({ statusWebhooks: { failNumbers: { [`whatsapp:${PHONE}`]: { status: 'rejected', code: 1300 } } } });
    sim.ctx.limiter.setLimits({ sms: 1 });
    sim.ctx.windows.record(PHONE, Date.now());
    expect((await send(sim, { ...WHATSAPP_TEXT, failover: [smsLeg] })).statusCode).toBe(202);
    await until('the SMS leg delivered', () => all().some((b) => b.channel === 'sms' && b.status === 'delivered'));
    expect(sim.ctx.limiter.stats().sms.accepted).toBe(1);
    const direct = await send(sim, { ...smsLeg, to: '447700900555', client_ref: 'job-8' });
    expect(direct.statusCode).toBe(429);
    expect(sim.store.messages({ channel: 'sms' }).map((m) => m.to)).toEqual([PHONE]);
  });

  it('a delivered message ends its workflow: the failover is never sent', async () => {
    start();
    sim.ctx.windows.record(PHONE, Date.now());
    const uuid = await sendOk(sim, { ...WHATSAPP_TEXT, failover: [smsLeg] });
    await until('read', () => statuses(uuid).length === 3);
    await sleep(50);
    expect(all().map((b) => b.channel)).toEqual(['whatsapp', 'whatsapp', 'whatsapp']);
    expect(sim.store.messages({ channel: 'sms' })).toEqual([]);
  });

  it('a failover message is checked as a message of its own, and may not nest', async () => {
    start();
    const bad = await send(sim, { ...WHATSAPP_TEXT, failover: [{ ...smsLeg, to: '+44' }, { ...smsLeg, failover: [smsLeg] }] });
    expect(bad.statusCode).toBe(422);
    expect(bad.json<{ invalid_parameters: { name: string }[] }>().invalid_parameters.map((p) => p.name)).toEqual(['failover.0.to', 'failover.1.failover']);
    expect((await send(sim, { ...WHATSAPP_TEXT, failover: [] })).statusCode).toBe(422);
    expect(sim.store.acceptedTotal).toBe(0);
  });
});
