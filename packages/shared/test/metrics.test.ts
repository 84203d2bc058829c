import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsRecorder, metricsToPrometheus, readMetrics } from '@tickercast/shared';
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
});
