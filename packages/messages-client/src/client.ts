import { Pool, errors as undiciErrors } from 'undici';
import { createAuthorizer, type AuthConfig, type Authorizer } from './auth.ts';
import { buildRequestBody } from './body.ts';
import { errorForStatus, NetworkError, type Problem } from './errors.ts';
import type { OutboundMessage } from './messages.ts';

export interface MessagesClientOptions {
  /** `https://api.nexmo.com` (default), a regional host, the Messages Sandbox, or the simulator. */
  baseUrl?: string;
  auth: AuthConfig;
  /** How long to wait to connect, for the answer to start, and between parts of it, in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Sockets kept open per host (default 64). */
  maxSockets?: number;
  /** Called once per request made, for metrics: the HTTP status, or 'network' when none came. */
  onResponse?: (info: { channel: string; status: number | 'network'; durationMs: number }) => void;
}

export interface SendResult {
  messageUuid: string;
  /** The failover workflow's id, when the message was sent with a `failover`: its legs' statuses carry it. */
  workflowId?: string;
}

/**
 * One `send()` for every channel of the Messages API v1. It validates before sending, never
 * retries (the queue does), and turns every failure into a typed MessagesError.
 *
 * HTTP goes through undici (Node's own HTTP client, as a package): a pool of kept-alive
 * connections to the API host. Measured against got on the same requests, it costs a fraction
 * of the CPU per request (docs/benchmarks.md), and a dispatcher spends most of its time here.
 */
export class MessagesClient {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #timeoutMs: number;
  readonly #auth: Authorizer;
  readonly #onResponse: MessagesClientOptions['onResponse'];

  constructor(options: MessagesClientOptions) {
    const base = new URL(options.baseUrl ?? 'https://api.nexmo.com');
    this.#path = `${base.pathname.replace(/\/+$/, '')}/v1/messages`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#pool = new Pool(base.origin, {
      connections: options.maxSockets ?? 64,
      connectTimeout: this.#timeoutMs,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    this.#auth = createAuthorizer(options.auth);
    this.#onResponse = options.onResponse;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const body = buildRequestBody(message);
    const authorization = await this.#auth.header();
    const started = performance.now();
    let response: { statusCode: number; headers: Record<string, string | string[] | undefined>; text: string };
    try {
      const res = await this.#pool.request({
        path: this.#path,
        method: 'POST',
        headers: { authorization, accept: 'application/json', 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify(body),
      });
      response = { statusCode: res.statusCode, headers: res.headers, text: await res.body.text() };
    } catch (err) {
      this.#onResponse?.({ channel: message.channel, status: 'network', durationMs: performance.now() - started });
      throw networkError(err);
    }
    this.#onResponse?.({ channel: message.channel, status: response.statusCode, durationMs: performance.now() - started });
    const parsed = parseJson(response.text);
    if (response.statusCode === 202 || response.statusCode === 200) {
      const accepted = parsed as { message_uuid?: unknown; workflow_id?: unknown } | undefined;
      const uuid = accepted?.message_uuid;
      if (typeof uuid !== 'string') throw new NetworkError('the API accepted the message but returned no message_uuid', undefined);
      return { messageUuid: uuid, ...(typeof accepted?.workflow_id === 'string' && { workflowId: accepted.workflow_id }) };
    }
    const problem: Problem = typeof parsed === 'object' && parsed !== null ? (parsed as Problem) : { title: STATUS_TITLES[response.statusCode] ?? 'error' };
    const retryAfter = response.headers['retry-after'];
    throw errorForStatus(response.statusCode, problem, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  }

  /**
   * Does the one-time work before the first send, so that the first message is not late: a late
   * first message bunches up with the next ones at the provider, and a provider counting any
   * rolling second then throttles. Mints the JWT, runs the validation once, and opens a kept-alive
   * connection with a GET that sends nothing (the API answers it with an error, which is ignored).
   */
  async prepare(): Promise<void> {
    await this.#auth.header();
    buildRequestBody({ channel: 'sms', to: '447700900000', from: '447700900001', text: 'warm-up' });
    try {
      const res = await this.#pool.request({ path: this.#path, method: 'GET', signal: AbortSignal.timeout(2000) });
      await res.body.dump();
    } catch {
      // Only a warm-up: the first send reports any real problem.
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    void this.#pool.destroy().catch(() => undefined);
  }
}

const USER_AGENT = 'tickercast-messages-client/0.1';

/** For a problem answer without a JSON body: the reason phrase of the status. */
const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** undici's errors, named by the system codes that callers (and logs) know. */
function networkError(err: unknown): NetworkError {
  const e = err as Error & { code?: string };
  let code = e.code;
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e instanceof undiciErrors.ConnectTimeoutError) code = 'ETIMEDOUT';
  else if (e instanceof undiciErrors.SocketError) code = 'ECONNRESET';
  return new NetworkError(`${code ?? 'network error'}: ${e.message}`, code, { cause: err });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
