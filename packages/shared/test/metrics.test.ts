import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsRecorder, metricsToPrometheus, ProviderStatus, readLatest, readMetrics, readRecentCounters, RECENT_SLICE_MS } from '@tickercast/shared';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';

describe('metrics held in Redis', () => {
  let t: TestRedis;
  beforeEach(() => {
    t = testRedis();
  });
  afterEach(() => t.cleanup());

  it('two processes’ tallies add up, and nothing reaches Redis before a flush', async () => {
    const a = new MetricsRecorder(t.redis, t.keys, 60_000);
    const b = new MetricsRecorder(t.redis, t.keys, 60_000);
    a.inc('tickercast_sends_total', { channel: 'sms', outcome: 'sent' });
    a.inc('tickercast_sends_total', { outcome: 'sent', channel: 'sms' }, 2);
    b.inc('tickercast_sends_total', { channel: 'sms', outcome: 'sent' });
    expect((await readMetrics(t.redis, t.keys)).counters).toEqual([]);
    await a.close();
    await b.close();
    expect((await readMetrics(t.redis, t.keys)).counters).toEqual([
      { name: 'tickercast_sends_total', labels: { channel: 'sms', outcome: 'sent' }, value: 4 },
    ]);
  });

  it('histograms keep cumulative buckets, sum and count, and print as Prometheus text', async () => {
    const m = new MetricsRecorder(t.redis, t.keys, 60_000);
    for (const v of [3, 40, 40, 700, 90_000]) m.observe('tickercast_send_latency_ms', { channel: 'sms' }, v);
    await m.close();
    const snapshot = await readMetrics(t.redis, t.keys);
    const [h] = snapshot.histograms;
    expect(h!.count).toBe(5);
    expect(h!.sum).toBe(90_783);
    const bucket = (le: string) => h!.buckets.find((b) => b.le === le)!.count;
    expect([bucket('5'), bucket('50'), bucket('1000'), bucket('60000'), bucket('+Inf')]).toEqual([1, 3, 4, 4, 5]);
    const text = metricsToPrometheus(snapshot, { tickercast_send_latency_ms: 'tick to acceptance' });
    expect(text).toContain('# TYPE tickercast_send_latency_ms histogram');
    expect(text).toContain('tickercast_send_latency_ms_bucket{channel="sms",le="50"} 3');
    expect(text).toContain('tickercast_send_latency_ms_count{channel="sms"} 5');
    // Buckets in increasing order, +Inf last, as Prometheus requires.
    const les = [...text.matchAll(/le="([^"]+)"/g)].map((x) => x[1]);
    expect(les.at(-1)).toBe('+Inf');
    expect(les.slice(0, -1).map(Number)).toEqual([...les.slice(0, -1).map(Number)].sort((x, y) => x - y));
  });

  it('a "latest" gauge keeps the newest value of every process, even when an older one is flushed after it', async () => {
    const a = new MetricsRecorder(t.redis, t.keys, 60_000);
    const b = new MetricsRecorder(t.redis, t.keys, 60_000);
    a.latest('tickercast_last_price_sent_timestamp_seconds', { channel: 'sms' }, 2000);
    a.latest('tickercast_last_price_sent_timestamp_seconds', { channel: 'sms' }, 1500);
    b.latest('tickercast_last_price_sent_timestamp_seconds', { channel: 'sms' }, 1000);
    await a.flush();
    await b.flush();
    expect(await readLatest(t.redis, t.keys)).toEqual([{ name: 'tickercast_last_price_sent_timestamp_seconds', labels: { channel: 'sms' }, value: 2000 }]);
    const text = metricsToPrometheus(await readMetrics(t.redis, t.keys));
    expect(text).toContain('# TYPE tickercast_last_price_sent_timestamp_seconds gauge');
    expect(text).toContain('tickercast_last_price_sent_timestamp_seconds{channel="sms"} 2000');
  });

  it('counters of the last minute sum the recent slices of every process, and leave out older ones', async () => {
    const now = 1_000_000 * RECENT_SLICE_MS + 1234;
    const m = new MetricsRecorder(t.redis, t.keys, 60_000);
    const labels = { channel: 'sms', status: '429' };
    for (const [ago, n] of [[90_000, 100], [59_000, 1], [20_000, 2], [0, 4]] as const) {
      m.inc('tickercast_provider_responses_total', labels, n);
      await m.flush(now - ago);
    }
    expect(await readRecentCounters(t.redis, t.keys, 60_000, now)).toEqual([{ name: 'tickercast_provider_responses_total', labels, value: 7 }]);
    // Every slice goes by itself.
    expect(await t.redis.pttl(t.keys.metricsRecent(Math.floor(now / RECENT_SLICE_MS)))).toBeGreaterThan(60_000);
  });
});

describe('provider breakers marked in Redis', () => {
  let t: TestRedis;
  beforeEach(() => {
    t = testRedis();
  });
  afterEach(() => t.cleanup());

  it('an open breaker is marked with since when, until it closes or its TTL runs out', async () => {
    const status = new ProviderStatus(t.redis, t.keys);
    expect(await status.openSince()).toEqual({ sms: null, whatsapp: null, messenger: null, viber_service: null });
    await status.opened('whatsapp', 1234, 60_000);
    await status.opened('sms', 5678, 150);
    expect(await status.openSince()).toEqual({ sms: 5678, whatsapp: 1234, messenger: null, viber_service: null });
    await status.closed('whatsapp');
    await new Promise((r) => setTimeout(r, 250));
    // A dispatcher that died with its breaker open does not leave the banner up for good.
    expect(await status.openSince()).toEqual({ sms: null, whatsapp: null, messenger: null, viber_service: null });
  });
});
