import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMessagesWebhook } from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../../apps/simulator/src/auth.ts';
import { BUSINESS_NUMBERS } from '../../../test/support/simulator.ts';

/* The other direction of the contract: what the simulator signs, our verification helper accepts. */

const SECRET = 'the-account-signature-secret-0123';

describe('simulator → verification helpers', () => {
  let capture: FastifyInstance;
  let sim: Simulator;
  const received: { authorization: string | undefined; raw: string }[] = [];

  beforeAll(async () => {
    capture = Fastify();
    capture.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    capture.post('/webhooks/inbound', async (req) => {
      received.push({ authorization: req.headers.authorization, raw: req.body as string });
      return { ok: true };
    });
    const base = await capture.listen({ port: 0, host: '127.0.0.1' });
    sim = buildSimulator({
      credentials: credentialsFrom({ apiKey: 'key1', apiSecret: 'secret1' }),
      webhookBaseUrl: base,
      signatureSecret: SECRET,
      businessNumbers: { ...BUSINESS_NUMBERS },
    });
  });
  afterAll(async () => {
    await sim.app.close();
    await capture.close();
  });

  it('an inbound webhook carries an HS256 token over its exact body, which verifies with the secret and fails with another', async () => {
    const res = await sim.app.inject({ method: 'POST', url: '/_sim/phones/whatsapp/447700900123/send', payload: { text: 'MSFT' } });
    expect(res.statusCode).toBe(202);
    expect(received).toHaveLength(1);
    const [{ authorization, raw }] = received as [{ authorization: string; raw: string }];
    const ok = await verifyMessagesWebhook({ authorization, rawBody: raw, secret: SECRET });
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.value).toMatchObject({ iss: 'Vonage', api_key: 'key1' });
    expect((await verifyMessagesWebhook({ authorization, rawBody: raw, secret: 'some-other-secret-0123456789' })).ok).toBe(false);
    expect((await verifyMessagesWebhook({ authorization, rawBody: raw.replace('MSFT', 'STOP'), secret: SECRET })).ok).toBe(false);
  });
});
