import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSimulator, type Simulator } from '../src/app.ts';
import { credentialsFrom } from '../src/auth.ts';

const BUSINESS = { sms: '447700900000', whatsapp: '447700900001', messenger: '107083064136738', viber_service: '16273' };

let sim: Simulator;

beforeAll(async () => {
  sim = buildSimulator({ credentials: credentialsFrom({}), webhookBaseUrl: 'http://127.0.0.1:9', businessNumbers: BUSINESS });
  await sim.app.ready();
});

afterAll(async () => {
  await sim?.app.close();
});

describe('the phone page', () => {
  it('is HTML with a channel selector offering each channel and the business number it reaches', async () => {
    const res = await sim.app.inject({ method: 'GET', url: '/' });

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toMatch(/^<!doctype html>/i);
    const select = res.body.match(/<select id="channel"[^>]*>(.*?)<\/select>/s)?.[1];
    expect(select).toBeDefined();
    const options = [...select!.matchAll(/<option value="([^"]+)">([^<]+)<\/option>/g)].map((m) => [m[1], m[2]]);
    expect(options).toEqual([
      ['sms', 'SMS → 447700900000'],
      ['whatsapp', 'WhatsApp → 447700900001'],
      ['messenger', 'Messenger → 107083064136738'],
      ['viber_service', 'Viber → 16273'],
    ]);
  });

  it('has a number field and a compose form that post to the phone endpoints', async () => {
    const { body } = await sim.app.inject({ method: 'GET', url: '/' });
    expect(body).toContain('<input id="number"');
    expect(body).toContain('<form class="compose" id="compose">');
    expect(body).toContain("'/_sim/phones/'");
    expect(body).toContain("sim(path() + '/send', { method: 'POST'");
  });

  it('sends the control token it was given as #token=… as a Bearer header, and asks for it when /_sim answers 401', async () => {
    const { body } = await sim.app.inject({ method: 'GET', url: '/' });
    expect(body).toContain("new URLSearchParams(location.hash.slice(1)).get('token')");
    expect(body).toContain("authorization: 'Bearer ' + token");
    expect(body).toContain("$('locked').hidden = res.status !== 401;");
    expect(body).toContain('<form id="locked" hidden>');
    expect(body).toContain('docker compose exec simulator cat /run/tickercast/simulator-token');
    expect(body.match(/fetch\(/g)).toHaveLength(1);
  });

  it('draws a status tick for each outbound message, redrawing when a status changes', async () => {
    const { body } = await sim.app.inject({ method: 'GET', url: '/' });
    expect(body).toContain("if (m.direction === 'out' && m.status) t.appendChild(tick(m.status));");
    expect(body).toContain('conversation.map((m) => [m.messageUuid, m.status])');
    for (const status of ['submitted', 'delivered', 'read', 'rejected', 'undeliverable']) expect(body).toMatch(new RegExp(`${status}: '[✓✕]`));
    expect(body).toContain('<div class="legend" id="legend">');
  });

  it('offers the SMS API inbound format for SMS, and shows the WhatsApp window', async () => {
    const { body } = await sim.app.inject({ method: 'GET', url: '/' });
    expect(body).toContain('<option value="sms-api:POST">SMS API (POST)</option>');
    expect(body).toContain('<option value="sms-api:GET">SMS API (GET)</option>');
    expect(body).toContain("payload.format = format;");
    expect(body).toContain('WhatsApp 24-hour window');
  });

  it('escapes a business id rather than injecting it into the page', async () => {
    const odd = buildSimulator({
      credentials: credentialsFrom({}),
      webhookBaseUrl: 'http://127.0.0.1:9',
      businessNumbers: { ...BUSINESS, viber_service: '<b>Tick&Co</b>' },
    });
    try {
      const { body } = await odd.app.inject({ method: 'GET', url: '/' });
      expect(body).not.toContain('<b>Tick&Co</b>');
      expect(body).toContain('Viber → &#60;b&#62;Tick&#38;Co&#60;/b&#62;');
    } finally {
      await odd.app.close();
    }
  });
});

describe('/healthz', () => {
  it('answers ok', async () => {
    const res = await sim.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
  });
});
