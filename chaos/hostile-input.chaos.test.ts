/**
 * Scenario 4 — hostile input. fast-check throws random bodies, content types and sizes at every
 * webhook route, the web signup and the admin API (without a token), through app.inject on the
 * real ingress over the test Redis. Guarantees: no 5xx, no job created by a refused request (a
 * rare fuzzed body that happens to be valid is answered 200 and is one job), /healthz still 200. Then, with VONAGE_SIGNATURE_SECRET set: forged, tampered, stale and replayed
 * signatures are all 401. Last, the attacks of issue 19 on parsing and joining (items 3, 4, 10,
 * 11, 13, 14), each with what must now happen.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, expect, test } from 'vitest';
import { signMessagesWebhook, smsSignature } from '@tickercast/messages-client';
import { createQueues, INBOUND_TEXT_MAX, loadConfig, redisKeys, senderFor, type Queues } from '@tickercast/shared';
import { parseCommand } from '../apps/dispatcher/src/commands.ts';
import { buildIngress } from '../apps/ingress/src/app.ts';
import { SMS_CONCAT_MAX_PARTS } from '../apps/ingress/src/webhooks/sms-concat.ts';
import { testRedis } from '../test/support/redis.ts';
import { QUICK, report } from './support.ts';

const RUNS = QUICK ? 100 : 300;
const SECRET = 'chaos-signature-secret-0123456789';
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
const t = testRedis();
const queueSets: Queues[] = [];
afterAll(async () => {
  await Promise.all(queueSets.map((q) => q.close()));
  await t.cleanup();
});

async function ingress(sub: string, signatureSecret?: string) {
  const keys = redisKeys(`${t.namespace}:${sub}`);
  const queues = createQueues(t.redis, keys);
  queueSets.push(queues);
  // A signup limit high enough that the fuzzed bodies reach validation rather than the limiter.
  const app = buildIngress({ queues, redis: t.redis, keys, adminToken: ADMIN_TOKEN, signatureSecret, signupRateLimit: 10_000 });
  await app.ready();
  const totalJobs = async () => {
    let n = 0;
    for (const q of queues.all()) n += Object.values(await q.getJobCounts()).reduce((a, b) => a + b, 0);
    return n;
  };
  return { app, totalJobs };
}

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/html',
    'multipart/form-data; boundary=xyz',
    'application/octet-stream',
    'application/xml',
  ),
  fc.string({ maxLength: 40 }),
);

/** Things shaped a little like our webhooks and forms, with wrong values. */
const lookalike = fc.record(
  {
    channel: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom('smss', 'SMS', 'whatsapp ', '')),
    message_uuid: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    from: fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.array(fc.string())),
    to: fc.oneof(fc.string({ maxLength: 5 }), fc.object()),
    text: fc.oneof(fc.string(), fc.integer()),
    status: fc.oneof(fc.string(), fc.constant(null)),
    msisdn: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
    messageId: fc.oneof(fc.string(), fc.integer()),
    number: fc.oneof(fc.string({ maxLength: 5 }), fc.object()),
    symbols: fc.oneof(fc.string(), fc.array(fc.integer())),
    __proto__: fc.object(),
    constructor: fc.object(),
  },
  { requiredKeys: [] },
);

/** A form field's text. Not String(v): fc.object() makes objects such as {toString: 0} that String() throws on. */
const formValue = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

const body = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  lookalike.map((o) => JSON.stringify(o)),
  lookalike.map((o) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, formValue(v)])).toString()),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  // Around and over the 64 KiB webhook limit and the 8 KiB signup limit.
  fc.integer({ min: 7 * 1024, max: 80 * 1024 }).map((n) => '{"text":"' + 'a'.repeat(n) + '"}'),
  fc.constant(''),
  fc.constant('{"a":'.repeat(2000)),
);

const hostileRequest = (url: fc.Arbitrary<string>, methods: string[]) =>
  fc.record({ url, method: fc.constantFrom(...methods), contentType, payload: body }).map(
    (r): InjectOptions => ({
      method: r.method as InjectOptions['method'],
      url: r.url,
      payload: r.method === 'GET' || r.method === 'HEAD' ? undefined : r.payload,
      headers: { 'content-type': r.contentType },
    }),
  );

const query = fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }).map((d) => new URLSearchParams(d).toString());

test(`random hostile input (${RUNS} runs per route): no 5xx, no job from refused input, still healthy`, async () => {
  const { app, totalJobs } = await ingress('hostile');
  const statuses = new Map<number, number>();
  const routes: [string, fc.Arbitrary<InjectOptions>][] = [
    ['/webhooks/inbound', hostileRequest(fc.constant('/webhooks/inbound'), ['POST'])],
    ['/webhooks/status', hostileRequest(fc.constant('/webhooks/status'), ['POST'])],
    ['/webhooks/inbound-sms', hostileRequest(query.map((q) => `/webhooks/inbound-sms?${q}`), ['POST', 'GET'])],
    ['/webhooks/delivery-receipt', hostileRequest(query.map((q) => `/webhooks/delivery-receipt?${q}`), ['POST', 'GET'])],
    ['/signup', hostileRequest(fc.constant('/signup'), ['POST'])],
    [
      '/admin/api/*',
      hostileRequest(
        fc.oneof(
          fc.constantFrom('/admin/api/subscribers', '/admin/api/broadcast', '/admin/api/subscribers/sms:447700900123', '/admin/api/subscribers/x/messages'),
          fc.webPath().map((p) => `/admin/api/${p.replace(/^\/+/, '')}`),
        ),
        ['GET', 'POST', 'DELETE', 'PUT', 'PATCH'],
      ),
    ],
  ];
  const started = Date.now();
  for (const [name, arb] of routes) {
    await fc.assert(
      fc.asyncProperty(arb, async (req) => {
        const res = await app.inject(req);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${name} ${req.method} ${req.url} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (name === '/admin/api/*') expect([401, 404]).toContain(res.statusCode);
      }),
      { numRuns: RUNS },
    );
  }
  const jobs = await totalJobs();
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  report('hostile-input', { requests: RUNS * routes.length, ms: Date.now() - started, statuses: Object.fromEntries(statuses), jobsCreated: jobs, healthz: health.statusCode },
  );
  // Now and then a fuzzed form is a valid SMS API inbound (an integer msisdn, any messageId, any
  // text): it is answered 200 and becomes one job. What must never make a job is a refused request.
  const answered2xx = [...statuses].filter(([code]) => code < 300).reduce((n, [, c]) => n + c, 0);
  expect(jobs).toBeLessThanOrEqual(answered2xx);
  expect(health.statusCode).toBe(200);
  await app.close();
});

test('forged, tampered, stale and replayed signatures are all 401', async () => {
  const { app, totalJobs } = await ingress('signed', SECRET);
  const nowS = () => Math.floor(Date.now() / 1000);
  const inbound = (id: string) => ({
    channel: 'sms',
    message_uuid: id,
    to: '447700900000',
    from: '447700900456',
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    message_type: 'text',
    text: 'MSFT',
  });
  const signed = async (raw: string, o: { secret?: string; iat?: number } = {}): Promise<InjectOptions> => ({
    method: 'POST',
    url: '/webhooks/inbound',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      authorization: await signMessagesWebhook({ rawBody: raw, secret: o.secret ?? SECRET, iat: o.iat, apiKey: 'abcd1234', applicationId: 'app-1' }),
    },
  });
  const outcomes: Record<string, number> = {};
  const check = async (what: string, req: InjectOptions, expected: number) => {
    const res = await app.inject(req);
    outcomes[what] = res.statusCode;
    expect(res.statusCode, `${what}: ${res.body}`).toBe(expected);
  };

  const raw = JSON.stringify(inbound('aaaaaaaa-bbbb-4ccc-8ddd-000000000001'));
  await check('no signature', { method: 'POST', url: '/webhooks/inbound', payload: raw, headers: { 'content-type': 'application/json' } }, 401);
  await check('forged (other secret)', await signed(raw, { secret: 'not-the-secret-0123456789abcdef' }), 401);
  const tampered = await signed(raw);
  tampered.payload = raw.replace('MSFT', 'STOP');
  await check('tampered body', tampered, 401);
  await check('stale (1 h old)', await signed(raw, { iat: nowS() - 3600 }), 401);
  await check('from the future', await signed(raw, { iat: nowS() + 3600 }), 401);
  const emptyBodyToken = await signMessagesWebhook({ rawBody: '', secret: SECRET, apiKey: 'abcd1234', applicationId: 'app-1' });
  await check(
    'form body, token signed for an empty body',
    { method: 'POST', url: '/webhooks/inbound', payload: new URLSearchParams(inbound('aaaaaaaa-bbbb-4ccc-8ddd-000000000003')).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: emptyBodyToken } },
    415,
  );
  await check('garbage bearer', { ...(await signed(raw)), headers: { 'content-type': 'application/json', authorization: 'Bearer a.b.c' } }, 401);

  // Random forged tokens.
  let forged = 0;
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 200 }), async (token) => {
      const res = await app.inject({ method: 'POST', url: '/webhooks/status', payload: raw, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
      forged++;
      expect(res.statusCode).toBe(401);
    }),
    { numRuns: QUICK ? 50 : 200 },
  );

  // Replayed: the first delivery is accepted, the identical second is refused.
  const once = await signed(JSON.stringify(inbound('aaaaaaaa-bbbb-4ccc-8ddd-000000000002')));
  await check('genuine', once, 200);
  await check('replayed', once, 401);

  // The SMS API: a signed inbound-sms with its text changed, and one with a wrong sig.
  const params: Record<string, string> = {
    msisdn: '447700900456',
    to: '447700900000',
    messageId: '0A0000000123ABCD1',
    text: 'MSFT',
    type: 'text',
    'message-timestamp': new Date().toISOString().slice(0, 19).replace('T', ' '),
    timestamp: String(nowS()),
    nonce: 'chaos-nonce-1',
  };
  const sig = smsSignature(params, SECRET, 'md5hash');
  await check('sms-api tampered', { method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams({ ...params, text: 'STOP', sig })}` }, 401);
  await check('sms-api wrong sig', { method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams({ ...params, sig: '0'.repeat(32) })}` }, 401);
  await check('sms-api stale', { method: 'GET', url: `/webhooks/inbound-sms?${new URLSearchParams({ ...params, timestamp: String(nowS() - 3600), sig: smsSignature({ ...params, timestamp: String(nowS() - 3600) }, SECRET, 'md5hash') })}` }, 401);

  const jobs = await totalJobs();
  report('signatures', { outcomes, randomForgedTokens: forged, jobsCreated: jobs });
  // Only the one genuine webhook became a job.
  expect(jobs).toBe(1);
  await app.close();
});

test('a signup flood (spoofed X-Forwarded-For, then many addresses) buys a bounded number of confirmations, paced apart from replies', async () => {
  const FLOOD = QUICK ? 500 : 1500;
  const keys = redisKeys(`${t.namespace}:flood`);
  const queues = createQueues(t.redis, keys);
  queueSets.push(queues);
  // Production defaults: TRUST_PROXY=false, 5 signups per address an hour, 60 a minute in all, 20 per country.
  const app = buildIngress({ queues, redis: t.redis, keys });
  await app.ready();
  const form = (i: number) => `channel=sms&number=4477009${String(10_000 + i).padStart(5, '0')}&tickers=MSFT`;
  const post = (i: number, remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/signup', remoteAddress, payload: form(i), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  const count = (codes: number[]) => codes.reduce<Record<number, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});

  // One client, a fresh X-Forwarded-For on every request: the limit is the connection's.
  const spoofed: number[] = [];
  for (let i = 0; i < FLOOD; i++) spoofed.push((await post(i, '203.0.113.66', { 'x-forwarded-for': `198.51.${i >> 8}.${i & 255}` })).statusCode);
  // Then a botnet: every request from its own address, to UK numbers, then to US numbers.
  const botnet: number[] = [];
  for (let i = 0; i < FLOOD; i++) botnet.push((await post(FLOOD + i, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)).statusCode);
  const usNumber = (i: number) => `channel=sms&number=1415555${String(1000 + i).padStart(4, '0')}&tickers=MSFT`;
  const us: number[] = [];
  for (let i = 0; i < 50; i++) {
    const res = await app.inject({ method: 'POST', url: '/signup', remoteAddress: `10.200.0.${i}`, payload: usNumber(i), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    us.push(res.statusCode);
  }

  const waiting = await queues.send.sms.getJobs(['waiting', 'delayed']);
  const delays = waiting.map((j) => j.opts.delay ?? 0).sort((a, b) => a - b);
  const dueAt = waiting.map((j) => j.timestamp + (j.opts.delay ?? 0)).sort((a, b) => a - b);
  const pending = (await t.redis.keys(keys.pendingSignup('*'))).length;
  report('signup-flood', {
    requests: FLOOD * 2 + 50,
    spoofedForwardedFor: count(spoofed),
    manyAddressesOneCountry: count(botnet),
    anotherCountry: count(us),
    confirmationsQueued: waiting.length,
    pendingSignups: pending,
    maxConfirmationDelayMs: delays.at(-1),
    replySchedule: await t.redis.exists(keys.replyPacing('sms')),
  });
  expect(spoofed.filter((c) => c === 200)).toHaveLength(5);
  // The UK's budget of 20 a minute, shared with the five above.
  expect(botnet.filter((c) => c === 200)).toHaveLength(15);
  expect(us.filter((c) => c === 200).length).toBeGreaterThan(0);
  expect(waiting.length).toBeLessThanOrEqual(60);
  expect(pending).toBe(waiting.length);
  // 3/s for confirmations on SMS (a tenth of 30/s): spread out, never beyond two minutes.
  for (let i = 1; i < dueAt.length; i++) expect(dueAt[i]! - dueAt[i - 1]!).toBeGreaterThanOrEqual(300);
  expect(delays.at(-1)!).toBeLessThanOrEqual(120_000);
  // A person's HELP now would go at once: the replies' own schedule was never touched.
  expect(await t.redis.exists(keys.replyPacing('sms'))).toBe(0);
  await app.close();
}, 120_000);

test('issue 19 attacks on parsing and joining: bounded work, no lost opt-out, no lost message, no replay', async () => {
  const { app, totalJobs } = await ingress('issue19', SECRET);
  const keys = redisKeys(`${t.namespace}:issue19`);
  const queues = createQueues(t.redis, keys);
  queueSets.push(queues);
  const offered = new Set(['MSFT', 'GOOGL']);
  const nowS = () => Math.floor(Date.now() / 1000);
  let nonce = 0;
  const sms = (params: Record<string, string>, timestamp = nowS()) => {
    const signed = { to: '447700900000', type: 'text', ...params, timestamp: String(timestamp), nonce: `i19-${++nonce}` };
    return { ...signed, sig: smsSignature(signed, SECRET, 'md5hash') };
  };
  const form = (params: Record<string, string>): InjectOptions => ({
    method: 'POST',
    url: '/webhooks/inbound-sms',
    payload: new URLSearchParams(params).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const messages = async (raw: object): Promise<InjectOptions> => {
    const body = JSON.stringify(raw);
    return { method: 'POST', url: '/webhooks/inbound', payload: body, headers: { 'content-type': 'application/json', authorization: await signMessagesWebhook({ rawBody: body, secret: SECRET }) } };
  };
  const inbound = (id: string, o: Record<string, unknown> = {}) => ({
    channel: 'whatsapp', message_uuid: id, to: '447700900001', from: '447700900777', timestamp: new Date().toISOString(), message_type: 'text', text: 'MSFT', ...o,
  });
  const waitingText = async (from: string) => (await queues.inbound.getWaiting()).filter((j) => j.data.from === from).map((j) => j.data.text);
  const figures: Record<string, unknown> = {};

  // Item 3: a long SMS of 255 parts of 10,000 characters each, the worst the schema lets through.
  const huge = `a${'.'.repeat(9_998)}a`;
  const from3 = '447700903003';
  for (let part = 255; part >= 1; part--) {
    const res = await app.inject(form(sms({ msisdn: from3, messageId: `I19P3-${part}`, text: huge, concat: 'true', 'concat-ref': '3', 'concat-total': '255', 'concat-part': String(part) })));
    expect(res.statusCode, res.body).toBe(200);
    if (part > 1) expect(await t.redis.hlen(keys.smsConcatParts(from3, '3'))).toBeLessThanOrEqual(SMS_CONCAT_MAX_PARTS);
  }
  const [joined] = await waitingText(from3);
  expect(joined!.length).toBeLessThanOrEqual(INBOUND_TEXT_MAX);
  const parseStarted = performance.now();
  expect(parseCommand(joined!, offered)).toEqual({ kind: 'help' });
  figures.item3 = { parts: 255, joinedChars: joined!.length, parseMs: Math.round(performance.now() - parseStarted) };

  // Item 4: a later long STOP under a reused reference is a message of its own, not a duplicate.
  const from4 = '447700903004';
  for (const [i, text] of ['MSFT and ', 'GOOGL please'].entries()) {
    await app.inject(form(sms({ msisdn: from4, messageId: `I19A-${i}`, text, concat: 'true', 'concat-ref': '4', 'concat-total': '2', 'concat-part': String(i + 1) })));
  }
  const stopAnswers = [];
  for (const [i, text] of ['STOP, no more ', 'messages please'].entries()) {
    stopAnswers.push((await app.inject(form(sms({ msisdn: from4, messageId: `I19B-${i}`, text, concat: 'true', 'concat-ref': '4', 'concat-total': '2', 'concat-part': String(i + 1) })))).json());
  }
  expect(stopAnswers.at(-1)).toEqual({ ok: true });
  const texts4 = await waitingText(from4);
  expect(texts4.map((x) => parseCommand(x, offered).kind).sort()).toEqual(['stop-all', 'subscribe']);
  expect(await t.redis.exists(keys.smsConcatParts(from4, '4'))).toBe(0);
  figures.item4 = { jobs: texts4.length };

  // Item 10: what the job schema would refuse is a 400 at the edge, and no job.
  const before10 = await totalJobs();
  const year99999 = await app.inject(await messages(inbound('i19-10-a', { timestamp: '+099999-01-01T00:00:00Z' })));
  const feb30 = await app.inject(form(sms({ msisdn: '447700903010', messageId: 'I19-10', text: 'MSFT', 'message-timestamp': '2025-02-30 12:00:00' })));
  expect([year99999.statusCode, feb30.statusCode]).toEqual([400, 400]);
  expect(await totalJobs()).toBe(before10);
  figures.item10 = { year99999: year99999.statusCode, feb30: feb30.statusCode };

  // Item 11: disguised STOPs are still opt-outs once they are jobs.
  const disguised = ['ＳＴＯＰ', 'S\u200bTOP', '\u2060stop\u00AD', 'ｓｔｏｐ please', 'S\u0000TOP'];
  for (const [i, text] of disguised.entries()) expect((await app.inject(await messages(inbound(`i19-11-${i}`, { from: `44770090311${i}`, text })))).statusCode).toBe(200);
  const kinds = await Promise.all(disguised.map(async (_, i) => parseCommand((await waitingText(`44770090311${i}`))[0] ?? '', offered).kind));
  expect(kinds).toEqual(disguised.map(() => 'stop-all'));
  figures.item11 = { disguisedStops: disguised.length, optOuts: kinds.filter((k) => k === 'stop-all').length };

  // Item 13: a request stamped 290 s ahead cannot be replayed while it is still accepted.
  const ahead = sms({ msisdn: '447700903013', messageId: 'I19-13', text: 'MSFT' }, nowS() + 290);
  expect((await app.inject(form(ahead))).statusCode).toBe(200);
  expect((await app.inject(form(ahead))).statusCode).toBe(401);
  const nonceTtl = await t.redis.ttl(keys.webhookReplay('nonce', ahead.nonce));
  expect(nonceTtl).toBeGreaterThanOrEqual(590);
  figures.item13 = { nonceTtlS: nonceTtl };

  // Item 14: ids that differ by ':' and '_' are two messages; a future timestamp is taken as now.
  for (const id of ['i19:14', 'i19_14']) expect((await app.inject(await messages(inbound(id, { from: '447700903014', timestamp: '2099-01-01T00:00:00Z' })))).json()).toEqual({ ok: true });
  const jobs14 = (await queues.inbound.getWaiting()).filter((j) => j.data.from === '447700903014');
  expect(jobs14).toHaveLength(2);
  for (const j of jobs14) expect(Date.parse(j.data.receivedAt)).toBeLessThanOrEqual(Date.now());
  figures.item14 = { jobs: jobs14.length };

  report('hostile-input-issue19', figures);
  await app.close();
});

test("the simulator's control API and callbacks: strangers cannot drive its phones (signed webhooks) or aim its status callbacks elsewhere", async () => {
  // Imported here so that this scenario stays one block at the end of the file.
  const { createServer } = await import('node:http');
  const { buildSimulator } = await import('../apps/simulator/src/app.ts');
  const { credentialsFrom } = await import('../apps/simulator/src/auth.ts');
  const { app, totalJobs } = await ingress('simulator', SECRET);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const attacker: string[] = [];
  const trap = createServer((req, res) => {
    attacker.push(`${req.method} ${req.url}`);
    res.end();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  const trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}`;
  const basic = { apiKey: 'simulator', apiSecret: 'simulator-secret' };
  const sim = buildSimulator({
    credentials: credentialsFrom(basic),
    webhookBaseUrl: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    signatureSecret: SECRET,
    controlToken: 'chaos-simulator-token-0123456789',
    businessNumbers: senderFor(loadConfig({})),
    statusWebhooks: { delayMs: 1 },
  });
  try {
    const codes: Record<string, number> = {};
    const tally = (code: number) => (codes[code] = (codes[code] ?? 0) + 1);
    const stranger = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.5`;
    // Driving a phone from elsewhere, however it is dressed: a number of our choosing "texts" MSFT (or STOP).
    const disguises: { url: string; headers: Record<string, string> }[] = [
      { url: '/_sim/phones/sms/447700900999/send', headers: {} },
      { url: '/_sim/phones/sms/447700900999/send', headers: { 'x-forwarded-for': '127.0.0.1' } },
      { url: '/_sim/phones/whatsapp/447700900999/send', headers: { authorization: 'Bearer guess-guess-guess-guess' } },
      { url: '/_sim/phones/sms/447700900999/send', headers: { authorization: 'Basic c2ltdWxhdG9yOnNpbXVsYXRvci1zZWNyZXQ=' } },
      { url: '/%5Fsim/phones/sms/447700900999/send', headers: {} },
      { url: '/_sim/phones/sms/447700900999/send/', headers: {} },
    ];
    for (let i = 0; i < RUNS; i++) {
      const d = disguises[i % disguises.length]!;
      const res = await sim.app.inject({ method: 'POST', url: d.url, remoteAddress: stranger(i), headers: d.headers, payload: { text: i % 2 ? 'MSFT' : 'STOP' } });
      tally(res.statusCode);
    }
    // A page on another site in the operator's browser (DNS rebinding: loopback socket, foreign Host).
    tally((await sim.app.inject({ method: 'POST', url: '/_sim/phones/sms/447700900999/send', remoteAddress: '127.0.0.1', headers: { host: 'rebind.example:9100' }, payload: { text: 'MSFT' } })).statusCode);
    for (const [method, url] of [['PATCH', '/_sim/settings'], ['POST', '/_sim/faults'], ['DELETE', '/_sim/messages']] as const) {
      tally((await sim.app.inject({ method, url, remoteAddress: stranger(7), payload: method === 'DELETE' ? undefined : {} })).statusCode);
    }
    // With compose's public Basic credentials: status callbacks (signed) aimed at another host.
    const authorization = `Basic ${Buffer.from(`${basic.apiKey}:${basic.apiSecret}`).toString('base64')}`;
    const sms = { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'hi' };
    const aimed: number[] = [];
    for (const target of [`${trapUrl}/collect`, 'http://169.254.169.254/latest/meta-data/', 'http://redis:6379/', `${trapUrl.replace('127.0.0.1', 'localhost')}/x`]) {
      aimed.push((await sim.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization }, payload: { ...sms, webhook_url: target } })).statusCode);
    }
    // The genuine path still works: this machine drives a phone, the ingress takes the signed webhook.
    const genuine = await sim.app.inject({ method: 'POST', url: '/_sim/phones/sms/447700900123/send', remoteAddress: '127.0.0.1', payload: { text: 'MSFT' } });
    await new Promise((r) => setTimeout(r, 200));
    report('simulator-control', { controlRequests: RUNS + 4, statuses: codes, webhookUrlElsewhere: aimed, attackerReceived: attacker.length, genuine: genuine.json() });
    expect(Object.keys(codes).filter((c) => c !== '401' && c !== '404')).toEqual([]);
    expect(codes[401]).toBeGreaterThan(RUNS / 2);
    expect(aimed).toEqual([422, 422, 422, 422]);
    expect(attacker).toEqual([]);
    expect(sim.store.acceptedTotal).toBe(0);
    expect(genuine.statusCode).toBe(202);
    expect(genuine.json<{ webhook: number }>().webhook).toBe(200);
    // Only the genuine inbound became a job: no stranger's text reached the application.
    expect(await totalJobs()).toBe(1);
    expect(sim.store.phones().map((p) => p.number)).toEqual(['447700900123']);
  } finally {
    await sim.app.close();
    await app.close();
    await new Promise((resolve) => trap.close(resolve));
  }
}, 120_000);
