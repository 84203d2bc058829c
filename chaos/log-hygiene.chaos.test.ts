/**
 * Scenario 9 — what the logs give away. The whole system at LOG_LEVEL=debug, with a signature
 * secret, an admin token and a JWT application key, under the traffic that makes the most log
 * lines: phones subscribing and stopping through signed webhooks, ticks and sends with their
 * status webhooks, a number whose messages come back rejected, forged webhooks (401),
 * the admin API and Bull Board with and without credentials. Then every line the ingress, the
 * dispatcher and the ticker wrote is searched: no secret, no token, no private key, no JWT, and
 * no full phone number (a masked one keeps its last four digits). The simulator plays Vonage and
 * the phones, so its own lines are not ours to judge.
 */
import { afterAll, expect, test } from 'vitest';
import { until } from '../test/support/processes.ts';
import { QUICK, report, startSystem, type System } from './support.ts';

const SECRET = 'chaos-log-signature-secret-0123456789';
const ADMIN_TOKEN = 'chaos-log-admin-token-abcdef0123456789';
const PHONES = Array.from({ length: QUICK ? 10 : 40 }, (_, i) => `4477006${String(10_000 + i).padStart(5, '0')}`);
let sys: System | undefined;

afterAll(async () => {
  await sys?.stop();
});

test('no secret, token, key or full phone number in any log line of ours, at debug level', async () => {
  sys = await startSystem({
    dispatchers: 1,
    ticker: true,
    env: { LOG_LEVEL: 'debug', TICK_INTERVAL_MS: '500', VONAGE_SIGNATURE_SECRET: SECRET, ADMIN_TOKEN, SIMULATOR_STATUS_DELAY_MS: '20' },
    dispatcherEnv: { LOG_LEVEL: 'debug' },
  });
  const s = sys;
  const text = (phone: string, body: string) => s.sim(`/_sim/phones/sms/${phone}/send`, { method: 'POST', body: { text: body } });

  // Phones subscribe (signed webhooks), get prices with their status webhooks, then some stop.
  for (const phone of PHONES) await text(phone, 'MSFT');
  await until('everyone has a price', async () => new Set((await s.messages()).map((m) => m.to)).size >= PHONES.length, 60_000);
  for (const phone of PHONES.slice(0, PHONES.length / 2)) await text(phone, 'STOP');
  await text(PHONES.at(-1)!, 'LIST');

  // A number the carrier refuses: its messages come back rejected (1240, opted out) in status webhooks.
  const barred = '447700999999';
  await s.sim('/_sim/settings', { method: 'PATCH', body: { statusWebhooks: { failNumbers: { [barred]: { status: 'rejected', code: 1240 } } } } });
  await s.store.subscribe('sms', barred, ['MSFT']);
  await until('the refused number was tried', async () => (await s.messages()).some((m) => m.to === barred), 30_000);

  // Web signups (logged with the subscriber id, which holds the number) and their YES.
  const signups = ['447700601001', '447700601002'];
  for (const number of signups) {
    const res = await fetch(`${s.ingressUrl}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: 'sms', number: `+${number}`, tickers: 'MSFT' }).toString(),
    });
    expect(res.status).toBe(200);
  }
  await text(signups[0]!, 'YES');

  // Forged and unsigned webhooks, and the admin surfaces with and without credentials.
  const forged = await fetch(`${s.ingressUrl}/webhooks/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJpYXQiOjF9.Zm9yZ2Vk' },
    body: JSON.stringify({ channel: 'sms', message_uuid: 'x', from: PHONES[0], to: '447700900000', text: 'MSFT', timestamp: new Date().toISOString() }),
  });
  expect(forged.status).toBe(401);
  const statuses = {
    adminNoToken: (await fetch(`${s.ingressUrl}/admin/api/subscribers`)).status,
    adminWrongToken: (await fetch(`${s.ingressUrl}/admin/api/subscribers`, { headers: { authorization: 'Bearer not-the-token-0123456789' } })).status,
    boardNoCredentials: (await fetch(`${s.ingressUrl}/admin/queues`)).status,
    adminWithToken: (await fetch(`${s.ingressUrl}/admin/api/subscribers/sms:${PHONES[0]}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status,
  };
  expect(statuses).toMatchObject({ adminNoToken: 401, adminWrongToken: 401, boardNoCredentials: 401 });
  expect(statuses.adminWithToken).toBeLessThan(500);
  await new Promise((r) => setTimeout(r, 1500)); // a few more ticks, sends and status webhooks

  const ours = s.procs.filter((p) => p.name !== 'simulator');
  const lines = ours.flatMap((p) => p.spawned.output().split('\n').filter(Boolean).map((line) => ({ proc: p.name, line })));
  const keyBody = String(s.env.VONAGE_PRIVATE_KEY).split('\n')[1]!;
  const forbidden: [string, (l: string) => boolean][] = [
    ['the signature secret', (l) => l.includes(SECRET)],
    ['the admin token', (l) => l.includes(ADMIN_TOKEN)],
    ['the private key', (l) => l.includes(keyBody.slice(0, 24)) || l.includes('PRIVATE KEY')],
    ['a JWT', (l) => /eyJ[\w-]{10,}\.eyJ[\w-]{5,}/.test(l)],
    ['a full phone number', (l) => [...PHONES, barred, ...signups].some((p) => l.includes(p))],
  ];
  // The lines do speak of people, masked: the check above is not vacuous.
  expect(lines.some(({ line }) => /\*{4,}\d{4}/.test(line))).toBe(true);
  const leaks = lines.flatMap(({ proc, line }) => forbidden.filter(([, bad]) => bad(line)).map(([what]) => `${proc}: ${what}: ${line.slice(0, 300)}`));
  report('log-hygiene', { lines: lines.length, byProcess: Object.fromEntries(ours.map((p) => [p.name, p.spawned.output().split('\n').length])), leaks: leaks.length, statuses });
  expect(lines.length).toBeGreaterThan(PHONES.length); // debug level: the traffic above was logged
  expect(leaks).toEqual([]);
}, 120_000);
