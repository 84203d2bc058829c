import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { RequestError, type Got } from 'got';
import { createAuthorizer, type AuthConfig, type Authorizer } from './auth.ts';
import { buildRequestBody } from './body.ts';
import { errorForStatus, NetworkError, type Problem } from './errors.ts';
import type { OutboundMessage } from './messages.ts';

export interface MessagesClientOptions {
  /** `https://api.nexmo.com` (default), a regional host, the Messages Sandbox, or the simulator. */
  baseUrl?: string;
  auth: AuthConfig;
  /** Whole-request timeout in milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Sockets kept open per host (default 64). */
  maxSockets?: number;
  /** Called once per request made, for metrics: the HTTP status, or 'network' when none came. */
  onResponse?: (info: { channel: string; status: number | 'network'; durationMs: number }) => void;
}

export interface SendResult {
  messageUuid: string;
}

/**
 * One `send()` for every channel of the Messages API v1. It validates before sending, never
 * retries (the queue does), and turns every failure into a typed MessagesError.
 */
export class MessagesClient {
  readonly #http: Got;
  readonly #auth: Authorizer;
  readonly #agents: { http: HttpAgent; https: HttpsAgent };
  readonly #onResponse: MessagesClientOptions['onResponse'];

  constructor(options: MessagesClientOptions) {
    const maxSockets = options.maxSockets ?? 64;
    this.#agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets }),
    };
    this.#auth = createAuthorizer(options.auth);
    this.#onResponse = options.onResponse;
    this.#http = got.extend({
      prefixUrl: (options.baseUrl ?? 'https://api.nexmo.com').replace(/\/+$/, ''),
      agent: this.#agents,
      timeout: { request: options.timeoutMs ?? 10_000 },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      headers: { 'user-agent': 'tickercast-messages-client/0.1' },
    });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const body = buildRequestBody(message);
    const authorization = await this.#auth.header();
    const started = performance.now();
    let response;
    try {
      response = await this.#http.post('v1/messages', {
        json: body,
        headers: { authorization, accept: 'application/json' },
      });
    } catch (err) {
      this.#onResponse?.({ channel: message.channel, status: 'network', durationMs: performance.now() - started });
      if (err instanceof RequestError) throw new NetworkError(`${err.code}: ${err.message}`, err.code, { cause: err });
      throw err;
    }
    this.#onResponse?.({ channel: message.channel, status: response.statusCode, durationMs: performance.now() - started });
    const parsed = parseJson(response.body);
    if (response.statusCode === 202 || response.statusCode === 200) {
      const uuid = (parsed as { message_uuid?: unknown } | undefined)?.message_uuid;
      if (typeof uuid !== 'string') throw new NetworkError('the API accepted the message but returned no message_uuid', undefined);
      return { messageUuid: uuid };
    }
    const problem: Problem = typeof parsed === 'object' && parsed !== null ? (parsed as Problem) : { title: response.statusMessage ?? 'error' };
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
    await this.#http.get('v1/messages', { timeout: { request: 2000 } }).catch(() => undefined);
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
