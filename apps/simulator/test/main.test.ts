import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyMessagesWebhook } from '@tickercast/messages-client';
import { loadConfig } from '@tickercast/shared';
import { freePort, spawnScript, type Spawned } from '../../../test/support/processes.ts';
import { startCapture, until, type Capture } from './helpers.ts';

/*
 * The simulator alone, as `npm start -w @tickercast/simulator` runs it: its port, webhook target,
 * keys, limits, outcomes and faults all from the environment, through the one config schema.
 */

const SECRET = 'main-signature-secret-0123456789';

describe('the new SIMULATOR_* variables in the config schema', () => {
  it('have their defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      SIMULATOR_RATE_LIMITS: {},
      SIMULATOR_STATUS_WEBHOOKS: true,
      SIMULATOR_STATUS_DELAY_MS: 50,
      SIMULATOR_FAIL_RATE: 0,
      SIMULATOR_FAIL_STATUS: 'rejected',
      SIMULATOR_FAIL_CODE: 1230,
      SIMULATOR_FAIL_NUMBERS: {},
      SIMULATOR_WEBHOOK_RETRIES: 5,
      SIMULATOR_WEBHOOK_RETRY_BASE_MS: 500,
      SIMULATOR_WHATSAPP_WINDOW: true,
      SIMULATOR_SMS_INBOUND_FORMAT: 'messages',
      SIMULATOR_SMS_INBOUND_METHOD: 'POST',
      VONAGE_SIGNATURE_METHOD: 'md5hash',
    });
    expect(c.SIMULATOR_SEED).toBeUndefined();
    expect(c.SIMULATOR_FAULTS).toBeUndefined();
  });

  it('parse their compact forms', () => {
    const c = loadConfig({
      SIMULATOR_RATE_LIMITS: 'sms=30, whatsapp=20,all=40',
      SIMULATOR_FAIL_NUMBERS: '447700900666,447700900667=undeliverable:1050',
      SIMULATOR_STATUS_WEBHOOKS: 'off',
      SIMULATOR_SEED: '42',
      SIMULATOR_FAULTS: '{"latencyMs": 20, "storm": {"seconds": 5, "retryAfter": 2}}',
    });
    expect(c.SIMULATOR_RATE_LIMITS).toEqual({ sms: 30, whatsapp: 20, all: 40 });
    expect(c.SIMULATOR_FAIL_NUMBERS).toEqual({ '447700900666': { status: 'rejected', code: 1240 }, '447700900667': { status: 'undeliverable', code: 1050 } });
    expect(c.SIMULATOR_STATUS_WEBHOOKS).toBe(false);
    expect(c.SIMULATOR_SEED).toBe(42);
    expect(c.SIMULATOR_FAULTS).toEqual({ latencyMs: 20, storm: { seconds: 5, retryAfter: 2 } });
  });

  it('name each bad value', () => {
    expect(() =>
      loadConfig({
        SIMULATOR_RATE_LIMITS: 'telegram=5',
        SIMULATOR_FAIL_NUMBERS: '447700900666=failed',
        SIMULATOR_FAULTS: '{"outage": {"seconds": -1}}',
        SIMULATOR_STATUS_WEBHOOKS: 'maybe',
        VONAGE_SIGNATURE_METHOD: 'sha3',
      }),
    ).toThrow(/SIMULATOR_RATE_LIMITS[\s\S]*SIMULATOR_FAIL_NUMBERS[\s\S]*SIMULATOR_FAULTS/);
    expect(() => loadConfig({ SIMULATOR_FAULTS: 'not json' })).toThrow(/SIMULATOR_FAULTS: not JSON/);
  });
});

describe('src/main.ts', () => {
  let capture: Capture;
  let sim: Spawned;
  let url: string;
  let authorization: string;

  beforeAll(async () => {
    capture = await startCapture();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const apiKey = 'k3y0001';
    const apiSecret = 'S3cret-0123456789';
    authorization = `Basic ${Buffer.from(`${apiKey}:${apiSecret}`).toString('base64')}`;
    sim = spawnScript('apps/simulator/src/main.ts', {
      SIMULATOR_PORT: String(port),
      SIMULATOR_WEBHOOK_URL: capture.url,
      VONAGE_API_KEY: apiKey,
      VONAGE_API_SECRET: apiSecret,
      VONAGE_SIGNATURE_SECRET: SECRET,
      SIMULATOR_RATE_LIMITS: 'sms=2',
      SIMULATOR_STATUS_DELAY_MS: '5',
      SIMULATOR_FAIL_NUMBERS: '447700900666=undeliverable',
      LOG_LEVEL: 'info',
    });
    await sim.waitForOutput(/simulator listening/, 30_000);
  }, 40_000);

  afterAll(async () => {
    sim?.child.kill('SIGTERM');
    if (sim) expect((await sim.exited).code).toBe(0);
    await capture?.close();
  });

  const post = (body: unknown) =>
    fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const sms = { channel: 'sms', message_type: 'text', to: '447700900666', from: 'Tickercast', text: 'MSFT 412.30' };

  it('listens on SIMULATOR_PORT with the limits, outcomes and signed webhooks the environment set', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const settings = (await (await fetch(`${url}/_sim/settings`)).json()) as { rateLimits: { sms: number } };
    expect(settings.rateLimits.sms).toBe(2);

    const codes = [(await post(sms)).status, (await post(sms)).status, (await post(sms)).status];
    expect(codes).toEqual([202, 202, 429]);
    await until('statuses', () => capture.on('/webhooks/status').length === 4, 5000);
    const hooks = capture.on('/webhooks/status');
    expect(hooks.filter((h) => h.params.status === 'undeliverable')).toHaveLength(2);
    for (const h of hooks) {
      expect((await verifyMessagesWebhook({ authorization: h.headers.authorization, rawBody: h.raw, secret: SECRET })).ok).toBe(true);
    }
  });
});

/** One of this machine's own addresses that is not loopback: a request to it comes from a non-loopback address too. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

async function reach(url: string, init: RequestInit = {}): Promise<number | string> {
  try {
    return (await fetch(url, { ...init, signal: AbortSignal.timeout(3000) })).status;
  } catch (err) {
    return (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  }
}

describe('where src/main.ts listens, and who may use /_sim', () => {
  const TOKEN = 'main-control-token-0123456789';
  const running: Spawned[] = [];
  afterAll(async () => {
    for (const s of running) s.child.kill('SIGTERM');
    await Promise.all(running.map((s) => s.exited));
  });

  it.skipIf(!outsideAddress)('listens on 127.0.0.1 by default, even when HOST (the ingress\'s) is 0.0.0.0', async () => {
    const port = await freePort();
    const sim = spawnScript('apps/simulator/src/main.ts', { SIMULATOR_PORT: String(port), HOST: '0.0.0.0', LOG_LEVEL: 'info' });
    running.push(sim);
    await sim.waitForOutput(/simulator listening on http:\/\/localhost:/, 30_000);
    expect(await reach(`http://127.0.0.1:${port}/_sim/stats`)).toBe(200);
    expect(await reach(`http://${outsideAddress}:${port}/healthz`)).toBe('ECONNREFUSED');
    expect(sim.output()).toContain('"host":"127.0.0.1"');
  });

  it('refuses to start on an address other machines reach without SIMULATOR_TOKEN (exit 78)', async () => {
    const sim = spawnScript('apps/simulator/src/main.ts', { SIMULATOR_PORT: String(await freePort()), SIMULATOR_HOST: '0.0.0.0' });
    running.push(sim);
    const { code } = await Promise.race([sim.exited, new Promise<{ code: string }>((r) => setTimeout(() => r({ code: 'still running' }), 15_000))]);
    expect(code).toBe(78);
    expect(sim.output()).toContain('SIMULATOR_TOKEN: required when the simulator listens on 0.0.0.0 (not loopback)');
  });

  it.skipIf(!outsideAddress)('on 0.0.0.0 with the token from SIMULATOR_TOKEN_FILE, /_sim answers other addresses only with the token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-token-'));
    try {
      writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
      const port = await freePort();
      const sim = spawnScript('apps/simulator/src/main.ts', { SIMULATOR_PORT: String(port), SIMULATOR_HOST: '0.0.0.0', SIMULATOR_TOKEN_FILE: join(dir, 'token'), LOG_LEVEL: 'info' });
      running.push(sim);
      await sim.waitForOutput(/simulator listening/, 30_000);
      const outside = `http://${outsideAddress}:${port}`;
      expect(await reach(`${outside}/healthz`)).toBe(200);
      expect(await reach(`${outside}/`)).toBe(200);
      expect(await reach(`${outside}/_sim/stats`)).toBe(401);
      expect(await reach(`${outside}/_sim/phones/sms/447700900123/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"STOP"}' })).toBe(401);
      expect(await reach(`${outside}/_sim/stats`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).toBe(401);
      expect(await reach(`${outside}/_sim/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).toBe(200);
      expect(await reach(`http://127.0.0.1:${port}/_sim/stats`)).toBe(200);
      expect(sim.output()).not.toContain(TOKEN);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
