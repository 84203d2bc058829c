import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagesClient } from '@tickercast/messages-client';
import { buildSimulator } from '../../simulator/src/app.ts';
import { credentialsFrom } from '../../simulator/src/auth.ts';
import { testRedis } from '../../../test/support/redis.ts';
import { BUSINESS_NUMBERS } from '../../../test/support/simulator.ts';
import { testIngress, type TestIngress } from './helpers.ts';

/*
 * Contract: what the simulator signs (as Vonage does) is what the ingress accepts. Both run on
 * real ports; the simulator's phones and status reports post their webhooks to the ingress.
 */

const SECRET = 'contract-secret-0123456789abcdef';
const t = testRedis();
let ing: TestIngress;
let sim: ReturnType<typeof buildSimulator>;
let simUrl: string;
let client: MessagesClient;

async function until<T>(what: string, fn: () => Promise<T>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  ing = await testIngress(t, { signatureSecret: SECRET, signatureMethod: 'sha256' });
  const ingressUrl = await ing.app.listen({ port: 0, host: '127.0.0.1' });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const applicationId = randomUUID();
  sim = buildSimulator({
    credentials: credentialsFrom({ applicationId, privateKey: pem }),
    webhookBaseUrl: ingressUrl,
    businessNumbers: { ...BUSINESS_NUMBERS },
    signatureSecret: SECRET,
    signatureMethod: 'sha256',
  });
  simUrl = await sim.app.listen({ port: 0, host: '127.0.0.1' });
  client = new MessagesClient({ baseUrl: simUrl, auth: { kind: 'jwt', applicationId, privateKey: pem } });
});
afterAll(async () => {
  client.close();
  await sim.app.close();
  await ing.close();
  await t.cleanup();
});

const phoneSends = (channel: string, number: string, body: object) =>
  fetch(`${simUrl}/_sim/phones/${channel}/${number}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the simulator signs, the ingress verifies', () => {
  it.each(['sms', 'whatsapp', 'viber_service'])('a signed Messages API inbound on %s is accepted', async (channel) => {
    const before = await ing.queues.inbound.count();
    const res = await phoneSends(channel, '447700900123', { text: 'MSFT' });
    expect(res.status).toBe(202);
    await until('the inbound job', async () => (await ing.queues.inbound.count()) === before + 1);
  });

  it.each(['GET', 'POST', 'POST-JSON'])('a signed SMS API inbound-sms by %s is accepted', async (method) => {
    const before = await ing.queues.inbound.count();
    const res = await phoneSends('sms', '447700900124', { text: `GOOGL ${method}`, format: 'sms-api', method });
    expect(res.status).toBe(202);
    await until('the inbound job', async () => (await ing.queues.inbound.count()) === before + 1);
  });

  it('signed status webhooks for a message we send are accepted', async () => {
    const { messageUuid } = await client.send({ channel: 'sms', to: '447700900125', from: BUSINESS_NUMBERS.sms, text: 'MSFT 412.35', clientRef: 'c1' });
    await until('submitted and delivered', async () => {
      const jobs = await ing.queues.status.getJobs(['waiting']);
      const states = jobs.filter((j) => j.data.messageId === messageUuid).map((j) => j.data.status);
      return states.includes('submitted') && states.includes('delivered');
    });
  });

  it('nothing was refused along the way', async () => {
    const text = (await ing.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).not.toMatch(/outcome="unauthorized"} [1-9]/);
    expect(text).toMatch(/tickercast_webhooks_total\{route="\/webhooks\/inbound-sms",outcome="accepted"} 3/);
  });
});
