import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, createRedis, DeliveryLog, MetricsRecorder, PriceCache, ProviderStatus, SubscriptionStore, type Queues } from '@tickercast/shared';
import { dashboard } from '../src/dashboard/plugin.ts';
import { snapshotSources, type DashboardSnapshot } from '../src/dashboard/snapshot.ts';
import { redisUrl, testRedis, type TestRedis } from '../../../test/support/redis.ts';

const RATES = { sms: 30, whatsapp: 20, messenger: 40, viber_service: 50 };

describe('live dashboard', () => {
  let t: TestRedis;
  let queues: Queues;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    t = testRedis();
    queues = createQueues(t.redis, t.keys);
    const store = new SubscriptionStore(t.redis, t.keys);
    const prices = new PriceCache(t.redis, t.keys);
    const deliveries = new DeliveryLog(t.redis, t.keys);
    await prices.set('MSFT', 412.35);
    await store.subscribe('sms', '447700900001', ['MSFT']);
    await store.subscribe('whatsapp', '447700900002', ['MSFT']);
    await deliveries.recordSent({ messageUuid: 'u1', subscriberId: 'sms:447700900001', channel: 'sms', text: 'x' });
    await queues.send.sms.add('reply', { kind: 'reply', subscriberId: 'sms:447700900001', text: 'hi' });
    app = Fastify();
    await app.register(dashboard, { ...snapshotSources(t.redis, t.keys, queues, ['MSFT', 'GOOGL'], RATES), intervalMs: 100 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await queues.close();
    await t.cleanup();
  });

  it('serves the page with a card per ticker and no external assets', async () => {
    const res = await fetch(`${base}/`);
    const html = await res.text();
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('data-symbol="MSFT"');
    expect(html).toContain('data-symbol="GOOGL"');
    expect(html).toContain("new EventSource('/dashboard/events')");
    expect(html).not.toMatch(/<script src=|<link rel="stylesheet"/);
  });

  it('streams snapshots of Redis as server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/dashboard/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value);
    while (!/data: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const snapshot = JSON.parse(/data: (.*)\n\n/.exec(text)![1]!) as DashboardSnapshot;
    expect(snapshot.prices).toEqual([expect.objectContaining({ symbol: 'MSFT', price: 412.35 })]);
    expect(snapshot.subscribers).toEqual({ sms: 1, whatsapp: 1, messenger: 0, viber_service: 0 });
    expect(snapshot.deliveries).toEqual({ 'sms:accepted': 1 });
    expect(snapshot.queues['send-sms']).toMatchObject({ waiting: 1 });
  });

  it('shows per channel: the limit, the backlog, the last price accepted, 429s and provider errors of the last minute, an open breaker', async () => {
    const metrics = new MetricsRecorder(t.redis, t.keys, 60_000);
    const sentAt = Date.now() - 4000;
    metrics.latest('tickercast_last_price_sent_timestamp_seconds', { channel: 'whatsapp' }, sentAt / 1000);
    metrics.inc('tickercast_provider_responses_total', { channel: 'whatsapp', status: '429' }, 3);
    metrics.inc('tickercast_provider_responses_total', { channel: 'whatsapp', status: '503' }, 2);
    metrics.inc('tickercast_provider_responses_total', { channel: 'whatsapp', status: 'network' });
    metrics.inc('tickercast_provider_responses_total', { channel: 'whatsapp', status: '202' }, 50);
    metrics.inc('tickercast_provider_responses_total', { channel: 'whatsapp', status: '400' });
    await metrics.close();
    await new ProviderStatus(t.redis, t.keys).opened('messenger', sentAt, 60_000);
    await queues.send.whatsapp.add('later', { kind: 'reply', subscriberId: 'whatsapp:447700900002', text: 'a' }, { delay: 60_000 });
    await queues.send.whatsapp.add('now', { kind: 'reply', subscriberId: 'whatsapp:447700900002', text: 'b' });
    await queues.send.whatsapp.add('first', { kind: 'reply', subscriberId: 'whatsapp:447700900002', text: 'c' }, { priority: 1 });

    const s = (await (await fetch(`${base}/dashboard/snapshot`)).json()) as DashboardSnapshot;
    expect(s.channels.whatsapp).toEqual({
      limit: 20,
      backlog: 3,
      lastPriceSentAt: sentAt,
      breakerOpenSince: null,
      throttledLastMinute: 3,
      providerErrorsLastMinute: 3,
    });
    expect(s.channels.messenger).toMatchObject({ limit: 40, lastPriceSentAt: null, breakerOpenSince: sentAt, throttledLastMinute: 0, providerErrorsLastMinute: 0 });
    expect(s.channels.sms).toMatchObject({ limit: 30, backlog: 1 });
    await new ProviderStatus(t.redis, t.keys).closed('messenger');
  });

  it('says Redis is unavailable on the stream when a snapshot fails (its connection closed)', async () => {
    // A connection of its own, closed under the dashboard: every command fails at once.
    const lost = createRedis(redisUrl());
    const other = Fastify();
    await other.register(dashboard, { ...snapshotSources(lost, t.keys, queues, ['MSFT'], RATES), intervalMs: 50 });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    try {
      const res = await fetch(`${url}/dashboard/events`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      const next = async (event: string) => {
        while (!new RegExp(`event: ${event}\ndata: .*\n\n`).test(text)) text += new TextDecoder().decode((await reader.read()).value);
        const data = new RegExp(`event: ${event}\ndata: (.*)\n\n`).exec(text)![1]!;
        text = text.slice(text.indexOf(data) + data.length);
        return JSON.parse(data) as Record<string, unknown>;
      };
      await next('snapshot');
      const before = Date.now();
      await lost.quit();
      const unavailable = await next('unavailable');
      expect(unavailable.reason).toMatch(/closed/i);
      expect(unavailable.since as number).toBeLessThanOrEqual(before);
    } finally {
      controller.abort();
      await other.close();
    }
  });

  it('serves the recent ticks of every symbol, oldest first, for the charts to draw on load', async () => {
    const prices = new PriceCache(t.redis, t.keys);
    for (const p of [413, 414, 415]) await prices.set('GOOGL', p);
    const history = (await (await fetch(`${base}/dashboard/history`)).json()) as Record<string, { price: number; version: number }[]>;
    expect(Object.keys(history).sort()).toEqual(['GOOGL', 'MSFT']);
    expect(history.GOOGL!.map((q) => q.price)).toEqual([413, 414, 415]);
    expect(history.MSFT!.map((q) => q.price)).toEqual([412.35]);
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain("fetch('/dashboard/history')");
  });

  it('closes cleanly with a stream still open', async () => {
    const other = Fastify();
    await other.register(dashboard, { ...snapshotSources(t.redis, t.keys, queues, ['MSFT'], RATES), intervalMs: 100 });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/dashboard/events`);
    await res.body!.getReader().read();
    // Without ending the streams first, close() would wait for the client forever (the test's timeout).
    await other.close();
    expect(other.server.listening).toBe(false);
  });
});

describe('the dashboard and ADMIN_TOKEN: one rule with /metrics', () => {
  it('with a token, the page, the snapshot and the stream want it (a browser login); without one they are open', async () => {
    const t = testRedis();
    const queues = createQueues(t.redis, t.keys);
    const sources = snapshotSources(t.redis, t.keys, queues, ['MSFT'], RATES);
    const TOKEN = 'dashboard-token-0123456789';
    const locked = Fastify();
    await locked.register(dashboard, { ...sources, token: TOKEN, publicUrl: 'http://localhost:9000' });
    const open = Fastify();
    await open.register(dashboard, sources);
    try {
      for (const url of ['/', '/dashboard/snapshot', '/dashboard/events']) {
        const refused = await locked.inject({ method: 'GET', url });
        expect(refused.statusCode, url).toBe(401);
        expect(refused.headers['www-authenticate']).toMatch(/^Basic realm="tickercast"/);
      }
      const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };
      expect((await locked.inject({ method: 'GET', url: '/', headers: basic })).statusCode).toBe(200);
      expect((await locked.inject({ method: 'GET', url: '/dashboard/snapshot', headers: basic })).statusCode).toBe(200);
      expect((await open.inject({ method: 'GET', url: '/dashboard/snapshot' })).statusCode).toBe(200);
    } finally {
      await locked.close();
      await open.close();
      await queues.close();
      await t.cleanup();
    }
  });
});
