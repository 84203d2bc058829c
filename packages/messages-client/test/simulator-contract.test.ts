import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  JwtAuthorizer,
  MessagesClient,
  UnauthorizedError,
  type AuthConfig,
  type OutboundMessage,
  type Problem,
} from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../../apps/simulator/src/auth.ts';

/*
 * The client against the real simulator over HTTP: what the client sends, the simulator
 * accepts and stores; what the simulator refuses comes back as the client's typed errors.
 */

function newKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const applicationId = randomUUID();
const privateKey = newKey();
const basic = { apiKey: 'a1b2c3d4', apiSecret: 'Secret-0123456789' };

let sim: Simulator;
let baseUrl: string;
const clients: MessagesClient[] = [];

function clientWith(auth: AuthConfig): MessagesClient {
  const c = new MessagesClient({ baseUrl, auth, timeoutMs: 5000 });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the promise to reject');
    },
    (err: unknown) => err,
  );
}

beforeAll(async () => {
  sim = buildSimulator({
    credentials: credentialsFrom({ applicationId, privateKey, ...basic }),
    webhookBaseUrl: 'http://127.0.0.1:9',
    businessNumbers: { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' },
  });
  baseUrl = await sim.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await sim?.app.close();
});

beforeEach(() => sim.store.reset());

const perChannel: [string, OutboundMessage, Record<string, unknown>][] = [
  [
    'sms',
    { channel: 'sms', to: '+447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD', clientRef: 'job-1' },
    { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD', client_ref: 'job-1' },
  ],
  [
    'whatsapp',
    { channel: 'whatsapp', to: '447700900123', from: '447700900001', text: 'MSFT 412.30 USD' },
    { channel: 'whatsapp', message_type: 'text', to: '447700900123', from: '447700900001', text: 'MSFT 412.30 USD' },
  ],
  [
    'whatsapp',
    { channel: 'whatsapp', to: '447700900123', from: '447700900001', template: { name: 'tickercast:price', parameters: ['MSFT', '412.30'] } },
    {
      channel: 'whatsapp',
      message_type: 'template',
      to: '447700900123',
      from: '447700900001',
      template: { name: 'tickercast:price', parameters: ['MSFT', '412.30'] },
      whatsapp: { policy: 'deterministic', locale: 'en_US' },
    },
  ],
  [
    'messenger',
    { channel: 'messenger', to: '5548213098765432', from: '107083064136738', text: 'MSFT 412.30 USD', category: 'update' },
    { channel: 'messenger', message_type: 'text', to: '5548213098765432', from: '107083064136738', text: 'MSFT 412.30 USD', messenger: { category: 'update' } },
  ],
  [
    'viber_service',
    { channel: 'viber_service', to: '447700900123', from: '16273', text: 'MSFT 412.30 USD', category: 'transaction' },
    { channel: 'viber_service', message_type: 'text', to: '447700900123', from: '16273', text: 'MSFT 412.30 USD', viber_service: { category: 'transaction' } },
  ],
];

describe('with JWT auth', () => {
  it.each(perChannel)('a %s message is accepted with a uuid and stored with the exact body', async (channel, message, body) => {
    const { messageUuid } = await clientWith({ kind: 'jwt', applicationId, privateKey }).send(message);

    expect(messageUuid).toMatch(UUID);
    const stored = sim.store.messages({ channel });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ messageUuid, channel, to: body.to, from: body.from });
    expect(stored[0]?.request).toStrictEqual(body);
  });

  it('gives every accepted message its own uuid', async () => {
    const client = clientWith({ kind: 'jwt', applicationId, privateKey });
    const results = await Promise.all(perChannel.map(([, message]) => client.send(message)));
    const uuids = results.map((r) => r.messageUuid);
    expect(new Set(uuids).size).toBe(perChannel.length);
    expect(sim.store.messages().map((m) => m.messageUuid).sort()).toEqual([...uuids].sort());
  });
});

describe('with Basic auth', () => {
  it('an SMS is accepted and stored', async () => {
    const { messageUuid } = await clientWith({ kind: 'basic', ...basic }).send({
      channel: 'sms',
      to: '447700900123',
      from: '447700900000',
      text: 'GOOGL 171.02 USD',
    });
    expect(sim.store.messages()).toMatchObject([{ messageUuid, channel: 'sms', to: '447700900123', display: 'GOOGL 171.02 USD' }]);
  });
});

describe('refused credentials', () => {
  const message: OutboundMessage = { channel: 'sms', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };

  it.each<[string, () => AuthConfig]>([
    ['a JWT signed with another private key', () => ({ kind: 'jwt', applicationId, privateKey: newKey() })],
    ['a JWT for another application id', () => ({ kind: 'jwt', applicationId: randomUUID(), privateKey })],
    ['Basic auth with the wrong secret', () => ({ kind: 'basic', apiKey: basic.apiKey, apiSecret: 'not-the-secret' })],
    ['Basic auth with an unknown key', () => ({ kind: 'basic', apiKey: 'zzzzzzzz', apiSecret: basic.apiSecret })],
  ])('%s is a 401 UnauthorizedError carrying the problem, and nothing is stored', async (_name, auth) => {
    const err = await rejection(clientWith(auth()).send(message));

    expect(err).toBeInstanceOf(UnauthorizedError);
    const e = err as UnauthorizedError;
    expect(e.status).toBe(401);
    expect(e.retryable).toBe(false);
    expect(e.problem).toMatchObject({
      type: expect.stringMatching(/^https:\/\/developer\.vonage\.com\/api-errors/),
      title: expect.any(String),
      detail: expect.any(String),
      instance: expect.any(String),
    });
    expect(e.message).toContain('401');
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('the problem detail says which check failed (application id)', async () => {
    const err = (await rejection(clientWith({ kind: 'jwt', applicationId: randomUUID(), privateKey }).send(message))) as UnauthorizedError;
    expect(err.problem.detail).toMatch(/application_id/);
  });
});

describe('a body that bypasses the client validation', () => {
  async function postRaw(body: unknown): Promise<{ status: number; problem: Problem; contentType: string | undefined }> {
    const authorization = await new JwtAuthorizer(applicationId, privateKey).header();
    const res = await fetch(`${baseUrl}/v1/messages`, { method: 'POST', body: JSON.stringify(body), headers: { authorization, 'content-type': 'application/json' } });
    return { status: res.status, problem: (await res.json()) as Problem, contentType: res.headers.get('content-type') ?? undefined };
  }

  it('gets a 422 naming the invalid field: a "+" number the client would have normalized', async () => {
    const { status, problem, contentType } = await postRaw({ channel: 'sms', message_type: 'text', to: '+447700900123', from: 'Tickercast', text: 'hi' });
    expect(status).toBe(422);
    expect(contentType).toMatch(/^application\/problem\+json/);
    expect(problem.type).toMatch(/#1150$/);
    expect(problem.invalid_parameters?.map((p) => p.name)).toEqual(['to']);
    expect(sim.store.acceptedTotal).toBe(0);
  });

  it('gets a 422 naming every invalid field at once', async () => {
    const { status, problem } = await postRaw({ channel: 'viber_service', message_type: 'text', to: '447700900123', from: '16273', text: '', viber_service: { ttl: 5 } });
    expect(status).toBe(422);
    expect(problem.invalid_parameters?.map((p) => p.name).sort()).toEqual(['text', 'viber_service.ttl']);
  });
});
