import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../src/app.ts';
import { credentialsFrom } from '../src/auth.ts';

/* Shared by the simulator's tests: a stand-in application that records webhooks, a clock to move by hand. */

export const BUSINESS = { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' } as const;
export const BASIC = { apiKey: 'a1b2c3d4', apiSecret: 'Secret-0123456789' };
export const AUTHORIZATION = `Basic ${Buffer.from(`${BASIC.apiKey}:${BASIC.apiSecret}`).toString('base64')}`;

export const SMS = { channel: 'sms', message_type: 'text', to: '447700900123', from: 'Tickercast', text: 'MSFT 412.30 USD' };
export const WHATSAPP_TEXT = { channel: 'whatsapp', message_type: 'text', to: '447700900123', from: BUSINESS.whatsapp, text: 'MSFT 412.30 USD' };
export const WHATSAPP_TEMPLATE = {
  channel: 'whatsapp',
  message_type: 'template',
  to: '447700900123',
  from: BUSINESS.whatsapp,
  template: { name: 'tickercast_price_update', parameters: ['MSFT 412.30 USD'] },
  whatsapp: { policy: 'deterministic', locale: 'en_US' },
};
export const MESSENGER = { channel: 'messenger', message_type: 'text', to: '5548213098765432', from: BUSINESS.messenger, text: 'MSFT 412.30 USD', messenger: { category: 'response' } };
export const VIBER = { channel: 'viber_service', message_type: 'text', to: '447700900123', from: BUSINESS.viber_service, text: 'MSFT 412.30 USD', viber_service: { category: 'transaction' } };

export interface Captured {
  method: string;
  /** The path without the query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  raw: string;
  /** The body parsed: JSON, a form, or (GET) the query. */
  params: Record<string, unknown>;
  at: number;
}

export interface Capture {
  url: string;
  hooks: Captured[];
  /** The status the next request gets (given the request and how many came to its path before it): 200 unless set. */
  answer: (req: Captured, countOnPath: number) => number;
  on(path: string): Captured[];
  close(): Promise<void>;
}

/** A real HTTP server standing in for the application: records every request and answers 200, or as told. */
export async function startCapture(): Promise<Capture> {
  const hooks: Captured[] = [];
  const capture: Capture = {
    url: '',
    hooks,
    answer: () => 200,
    on: (path) => hooks.filter((h) => h.path === path),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://capture');
      const query = Object.fromEntries(url.searchParams);
      const type = req.headers['content-type'] ?? '';
      let params: Record<string, unknown> = query;
      if (type.startsWith('application/json')) params = JSON.parse(raw) as Record<string, unknown>;
      else if (type.startsWith('application/x-www-form-urlencoded')) params = Object.fromEntries(new URLSearchParams(raw));
      const hook: Captured = { method: req.method ?? '', path: url.pathname, query, headers: req.headers, raw, params, at: Date.now() };
      const before = hooks.filter((h) => h.path === hook.path).length;
      hooks.push(hook);
      res.statusCode = capture.answer(hook, before);
      res.end();
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  capture.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return capture;
}

/** A simulator with Basic credentials and the test's options. */
export function testSimulator(options: Partial<SimulatorOptions> = {}): Simulator {
  return buildSimulator({
    credentials: credentialsFrom(BASIC),
    webhookBaseUrl: 'http://127.0.0.1:9',
    businessNumbers: { ...BUSINESS },
    ...options,
  });
}

/** POST /v1/messages with good credentials. */
export function send(sim: Simulator, payload: unknown) {
  return sim.app.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: AUTHORIZATION }, payload: payload as Record<string, unknown> });
}

export async function sendOk(sim: Simulator, payload: unknown): Promise<string> {
  const res = await send(sim, payload);
  if (res.statusCode !== 202) throw new Error(`expected 202, got ${res.statusCode}: ${res.body}`);
  return res.json<{ message_uuid: string }>().message_uuid;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2026-03-02T09:30:00.000Z')) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    set: (ms: number) => {
      t = ms;
    },
  };
}

/** Waits until `check` returns something truthy (polling), or fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
