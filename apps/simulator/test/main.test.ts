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
      HOST: '127.0.0.1',
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
