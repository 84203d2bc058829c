import { createServer } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidRequestError,
  isRetryable,
  MessagesApiError,
  MessagesClient,
  MessagesError,
  MessageValidationError,
  NetworkError,
  parseRetryAfter,
  PaymentRequiredError,
  RateLimitedError,
  ServerError,
  UnauthorizedError,
  type OutboundMessage,
} from '@tickercast/messages-client';

/*
 * A stand-in Vonage that answers each scenario with a fixed status: the first path segment of
 * the client's baseUrl picks the scenario (`http://host/<scenario>/v1/messages`), and the server
 * counts the requests each scenario received.
 */

const THROTTLED = {
  type: 'https://developer.vonage.com/api-errors/messages#1000',
  title: 'Rate Limit Hit',
  detail: 'Please wait, then retry your request',
  instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
};

type Scenario = (reply: FastifyReply) => unknown;

const SCENARIOS: Record<string, Scenario> = {
  'throttled-seconds': (r) => r.code(429).header('retry-after', '3').type('application/problem+json').send(THROTTLED),
  'throttled-date': (r) =>
    r.code(429).header('retry-after', new Date(Date.now() + 5000).toUTCString()).type('application/problem+json').send(THROTTLED),
  'throttled-bare': (r) => r.code(429).type('application/problem+json').send(THROTTLED),
  unauthorized: (r) =>
    r.code(401).type('application/problem+json').send({
      type: 'https://developer.vonage.com/api-errors#unauthorized',
      title: 'Invalid credentials supplied',
      detail: 'You did not provide correct credentials.',
      instance: '797a8f199c45014ab7b08bfe9cc1c12c',
    }),
  forbidden: (r) => r.code(403).type('application/problem+json').send({ title: 'Forbidden', detail: 'This account cannot use this channel.' }),
  'out-of-credit': (r) =>
    r.code(402).type('application/problem+json').send({
      type: 'https://developer.vonage.com/api-errors/messages#1070',
      title: 'Low balance',
      detail: 'This request could not be performed due to your account balance being low.',
      instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
    }),
  'invalid-params': (r) =>
    r.code(422).type('application/problem+json').send({
      type: 'https://developer.vonage.com/api-errors/messages#1150',
      title: 'Invalid params',
      detail: 'The value of one or more parameters is invalid.',
      instance: 'bf0ca0bf927b3b52e3cb03217e1a1ddf',
      invalid_parameters: [{ name: 'to', reason: 'Invalid recipient' }],
    }),
  barred: (r) =>
    r.code(422).type('application/problem+json').send({
      type: 'https://developer.vonage.com/api-errors/messages#1050',
      title: 'Number barred',
      detail: 'The recipient is barred.',
    }),
  internal: (r) =>
    r.code(500).type('application/problem+json').send({
      type: 'https://developer.vonage.com/api-errors/messages#1000',
      title: 'Internal error',
      detail: 'There was an error processing your request in the Platform.',
    }),
  unavailable: (r) => r.code(503).type('text/html').send('<html><body>Service Unavailable</body></html>'),
  'accepted-without-uuid': (r) => r.code(202).send({}),
  hang: () => new Promise(() => undefined),
};

const message: OutboundMessage = { channel: 'sms', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };

let server: FastifyInstance;
let serverUrl: string;
const counts = new Map<string, number>();
const clients: MessagesClient[] = [];

function clientFor(scenario: string, timeoutMs = 5000): MessagesClient {
  const c = new MessagesClient({ baseUrl: `${serverUrl}/${scenario}`, auth: { kind: 'basic', apiKey: 'k', apiSecret: 's' }, timeoutMs });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (err: unknown) => err,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = Fastify({ logger: false, forceCloseConnections: true });
  server.post<{ Params: { scenario: string } }>('/:scenario/v1/messages', (req, reply) => {
    const { scenario } = req.params;
    counts.set(scenario, (counts.get(scenario) ?? 0) + 1);
    const answer = SCENARIOS[scenario];
    if (!answer) return reply.code(404).send({ error: `no scenario ${scenario}` });
    return answer(reply);
  });
  serverUrl = await server.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

beforeEach(() => counts.clear());

describe('429 Rate Limit Hit', () => {
  it('a 429 with Retry-After: 3 waits 3 seconds', async () => {
    const err = await failure(clientFor('throttled-seconds').send(message));
    expect(err).toBeInstanceOf(RateLimitedError);
    const e = err as RateLimitedError;
    expect(e.status).toBe(429);
    expect(e.retryAfterMs).toBe(3000);
    expect(e.code).toBe('1000');
    expect(e.problem).toEqual(THROTTLED);
    expect(e.retryable).toBe(true);
    expect(isRetryable(e)).toBe(true);
  });

  it('a 429 with Retry-After as an HTTP date waits until that date', async () => {
    const e = (await failure(clientFor('throttled-date').send(message))) as RateLimitedError;
    expect(e).toBeInstanceOf(RateLimitedError);
    // The date has one-second resolution and was written a moment ago: 5 s, less up to a second
    // (and some slack for a loaded machine).
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(2000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('a 429 without Retry-After leaves the wait to the caller', async () => {
    const e = (await failure(clientFor('throttled-bare').send(message))) as RateLimitedError;
    expect(e).toBeInstanceOf(RateLimitedError);
    expect(e.retryAfterMs).toBeUndefined();
    expect(isRetryable(e)).toBe(true);
  });
});

describe('permanent failures', () => {
  it('a 401 is an UnauthorizedError that is not retried', async () => {
    const e = (await failure(clientFor('unauthorized').send(message))) as UnauthorizedError;
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect(e.status).toBe(401);
    expect(e.problem.title).toBe('Invalid credentials supplied');
    expect(e.message).toBe('401 Invalid credentials supplied: You did not provide correct credentials.');
    expect(isRetryable(e)).toBe(false);
  });

  it('a 403 is an UnauthorizedError too', async () => {
    const e = (await failure(clientFor('forbidden').send(message))) as UnauthorizedError;
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect(e.status).toBe(403);
    expect(isRetryable(e)).toBe(false);
  });

  it('a 402 is a PaymentRequiredError with code 1070', async () => {
    const e = (await failure(clientFor('out-of-credit').send(message))) as PaymentRequiredError;
    expect(e).toBeInstanceOf(PaymentRequiredError);
    expect(e.status).toBe(402);
    expect(e.code).toBe('1070');
    expect(isRetryable(e)).toBe(false);
  });

  it('a 422 is an InvalidRequestError with the code from the type URL and the invalid parameters', async () => {
    const e = (await failure(clientFor('invalid-params').send(message))) as InvalidRequestError;
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.status).toBe(422);
    expect(e.code).toBe('1150');
    expect(e.problem.invalid_parameters).toEqual([{ name: 'to', reason: 'Invalid recipient' }]);
    expect(isRetryable(e)).toBe(false);
  });

  it('a 422 for a barred number carries code 1050', async () => {
    const e = (await failure(clientFor('barred').send(message))) as InvalidRequestError;
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.code).toBe('1050');
  });

  it('an error without a numbered type has no code', async () => {
    const e = (await failure(clientFor('forbidden').send(message))) as MessagesApiError;
    expect(e).toBeInstanceOf(MessagesApiError);
    expect(e.code).toBeUndefined();
  });
});

describe('server errors, retryable, and never retried by the client itself', () => {
  it('a 500 is a retryable ServerError, after exactly one request', async () => {
    const e = (await failure(clientFor('internal').send(message))) as ServerError;
    expect(e).toBeInstanceOf(ServerError);
    expect(e.status).toBe(500);
    expect(e.problem.title).toBe('Internal error');
    expect(isRetryable(e)).toBe(true);
    await sleep(300);
    expect(counts.get('internal')).toBe(1);
  });

  it('a 503 with an HTML body is a retryable ServerError titled by the status line, after exactly one request', async () => {
    const e = (await failure(clientFor('unavailable').send(message))) as ServerError;
    expect(e).toBeInstanceOf(ServerError);
    expect(e.status).toBe(503);
    expect(e.problem).toEqual({ title: 'Service Unavailable' });
    expect(isRetryable(e)).toBe(true);
    await sleep(300);
    expect(counts.get('unavailable')).toBe(1);
  });
});

describe('no answer', () => {
  it('a refused connection is a retryable NetworkError', async () => {
    // A port that was free a moment ago and has nothing listening now.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const client = new MessagesClient({ baseUrl: `http://127.0.0.1:${port}`, auth: { kind: 'basic', apiKey: 'k', apiSecret: 's' } });
    clients.push(client);

    const e = (await failure(client.send(message))) as NetworkError;
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.code).toBe('ECONNREFUSED');
    expect(isRetryable(e)).toBe(true);
  });

  it('a server that never answers is a retryable NetworkError after the timeout, after exactly one request', async () => {
    const started = Date.now();
    const e = (await failure(clientFor('hang', 300).send(message))) as NetworkError;
    const elapsed = Date.now() - started;

    expect(e).toBeInstanceOf(NetworkError);
    expect(e.code).toBe('ETIMEDOUT');
    expect(isRetryable(e)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    await sleep(300);
    expect(counts.get('hang')).toBe(1);
  });

  it('a 202 without a message_uuid is not taken for a success', async () => {
    const e = await failure(clientFor('accepted-without-uuid').send(message));
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as Error).message).toMatch(/message_uuid/);
  });
});

describe('isRetryable', () => {
  it.each<[string, unknown, boolean]>([
    ['RateLimitedError', new RateLimitedError({}, undefined), true],
    ['ServerError', new ServerError(502, {}), true],
    ['NetworkError', new NetworkError('ECONNRESET: socket hang up', 'ECONNRESET'), true],
    ['UnauthorizedError', new UnauthorizedError(401, {}), false],
    ['PaymentRequiredError', new PaymentRequiredError(402, {}), false],
    ['InvalidRequestError', new InvalidRequestError(422, {}), false],
    ['MessageValidationError', new MessageValidationError('to', 'bad'), false],
    ['a plain Error', new Error('boom'), false],
    ['a string', 'ECONNRESET', false],
    ['undefined', undefined, false],
  ])('%s → %s', (_name, err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });

  it('every error the client defines is a MessagesError', () => {
    for (const e of [new RateLimitedError({}, 1), new NetworkError('x', undefined), new MessageValidationError('to', 'x')]) {
      expect(e).toBeInstanceOf(MessagesError);
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2025 07:28:00 GMT');
  it.each<[string | undefined, number | undefined]>([
    ['3', 3000],
    ['0', 0],
    ['1.5', 1500],
    ['120', 120_000],
    ['Wed, 21 Oct 2025 07:28:30 GMT', 30_000],
    ['Wed, 21 Oct 2025 07:27:00 GMT', 0],
    ['-5', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %s ms', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});
