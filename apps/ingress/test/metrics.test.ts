import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { signMessagesWebhook } from '@tickercast/messages-client';
import { DeliveryLog } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';
import { testIngress, type TestIngress } from './helpers.ts';

const t = testRedis();
let ing: TestIngress;
afterEach(() => ing.close());
afterAll(() => t.cleanup());

const INBOUND = {
  channel: 'sms',
  message_uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab',
  to: '447700900000',
  from: '447700900123',
  timestamp: '2025-02-03T12:14:25Z',
  message_type: 'text',
  text: 'MSFT',
};

async function scrape(headers: Record<string, string> = {}): Promise<string> {
  const res = await ing.app.inject({ method: 'GET', url: '/metrics', headers });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of one sample, by its exact name and labels as printed. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts webhooks by route and outcome', async () => {
    ing = await testIngress(t);
    const post = (payload: object) => ing.app.inject({ method: 'POST', url: '/webhooks/inbound', payload });
    await post(INBOUND);
    await post(INBOUND); // duplicate
    await post({ ...INBOUND, message_uuid: 'other-1' });
    await post({ ...INBOUND, channel: 'fax' }); // invalid
    await ing.app.inject({ method: 'GET', url: '/webhooks/delivery-receipt?msisdn=447700900123&messageId=X1&status=delivered' });
    await ing.app.inject({ method: 'GET', url: '/webhooks/delivery-receipt?msisdn=447700900123' }); // invalid

    const text = await scrape();
    expect(text).toContain('# TYPE tickercast_webhooks_total counter');
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="accepted"}')).toBe(2);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="duplicate"}')).toBe(1);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="invalid"}')).toBe(1);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="unauthorized"}')).toBe(0);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/delivery-receipt",outcome="accepted"}')).toBe(1);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/delivery-receipt",outcome="invalid"}')).toBe(1);
    // Every webhook route is there from the start, at zero.
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/status",outcome="accepted"}')).toBe(0);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound-sms",outcome="error"}')).toBe(0);
    // Not a webhook: not counted.
    expect(text).not.toContain('route="/metrics"');
  });

  it('counts unauthorized webhooks when signatures are checked', async () => {
    ing = await testIngress(t, { signatureSecret: 'signature-secret-0123456789abcdef' });
    await ing.app.inject({ method: 'POST', url: '/webhooks/status', payload: {} });
    const raw = JSON.stringify(INBOUND);
    const authorization = await signMessagesWebhook({ rawBody: raw, secret: 'signature-secret-0123456789abcdef' });
    const signed = { method: 'POST' as const, url: '/webhooks/inbound', payload: raw, headers: { 'content-type': 'application/json', authorization } };
    await ing.app.inject(signed);
    await ing.app.inject(signed); // replayed
    const text = await scrape();
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/status",outcome="unauthorized"}')).toBe(1);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="unauthorized"}')).toBe(1);
    expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="accepted"}')).toBe(1);
  });

  it('shows queue depths per queue and state, read at scrape time', async () => {
    ing = await testIngress(t);
    await ing.app.inject({ method: 'POST', url: '/webhooks/inbound', payload: INBOUND });
    await ing.queues.send.whatsapp.add('reply', { kind: 'reply', subscriberId: 'whatsapp:447700900123', text: 'hi' });
    await ing.queues.send.whatsapp.add('reply', { kind: 'reply', subscriberId: 'whatsapp:447700900124', text: 'hi' });
    await ing.queues.send.sms.add('price', { kind: 'price', subscriberId: 'sms:447700900123', symbol: 'MSFT' }, { priority: 10 });
    const text = await scrape();
    expect(text).toContain('# TYPE tickercast_queue_jobs gauge');
    expect(sample(text, 'tickercast_queue_jobs{queue="inbound",state="waiting"}')).toBe(1);
    expect(sample(text, 'tickercast_queue_jobs{queue="send-whatsapp",state="waiting"}')).toBe(2);
    expect(sample(text, 'tickercast_queue_jobs{queue="send-sms",state="prioritized"}')).toBe(1);
    expect(sample(text, 'tickercast_queue_jobs{queue="status",state="failed"}')).toBe(0);
    // A later scrape sees the change.
    await ing.queues.send.whatsapp.drain();
    expect(sample(await scrape(), 'tickercast_queue_jobs{queue="send-whatsapp",state="waiting"}')).toBe(0);
  });

  it('shows sends by channel and status from the delivery log', async () => {
    ing = await testIngress(t);
    const log = new DeliveryLog(t.redis, ing.keys);
    for (const [uuid, channel] of [['u1', 'sms'], ['u2', 'sms'], ['u3', 'viber_service']] as const) {
      await log.recordSent({ messageUuid: uuid, subscriberId: `${channel}:447700900123`, channel, text: 'x' });
    }
    await log.applyStatus({ channel: 'sms', messageId: 'u1', status: 'delivered', timestamp: new Date().toISOString() });
    const text = await scrape();
    expect(text).toContain('# TYPE tickercast_sends_total counter');
    expect(sample(text, 'tickercast_sends_total{channel="sms",status="accepted"}')).toBe(2);
    expect(sample(text, 'tickercast_sends_total{channel="sms",status="delivered"}')).toBe(1);
    expect(sample(text, 'tickercast_sends_total{channel="viber_service",status="accepted"}')).toBe(1);
  });

  it('reports the dashboard streams: open, bytes held, refused past the cap', async () => {
    ing = await testIngress(t, { dashboardMaxStreams: 1 });
    const base = await ing.app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const open = await fetch(`${base}/dashboard/events`, { signal: controller.signal });
    expect(open.status).toBe(200);
    expect((await fetch(`${base}/dashboard/events`)).status).toBe(429);
    const text = await scrape();
    expect(sample(text, 'tickercast_dashboard_streams')).toBe(1);
    expect(sample(text, 'tickercast_dashboard_buffered_bytes')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'tickercast_dashboard_stream_events_total{event="refused"}')).toBe(1);
    expect(sample(text, 'tickercast_dashboard_stream_events_total{event="skipped"}')).toBe(0);
    controller.abort();
  });

  it('includes process metrics, and each app counts on its own registry', async () => {
    ing = await testIngress(t);
    await ing.app.inject({ method: 'POST', url: '/webhooks/inbound', payload: INBOUND });
    const other = await testIngress(t);
    try {
      const text = (await other.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sample(text, 'tickercast_webhooks_total{route="/webhooks/inbound",outcome="accepted"}')).toBe(0);
      expect(text).toContain('tickercast_ingress_process_resident_memory_bytes');
    } finally {
      await other.close();
    }
  });

  it('with ADMIN_TOKEN set it wants the token; without, it is open', async () => {
    ing = await testIngress(t, { adminToken: 'admin-token-0123456789abcdef' });
    expect((await ing.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await ing.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } })).statusCode).toBe(401);
    await scrape({ authorization: 'Bearer admin-token-0123456789abcdef' });
  });
});
