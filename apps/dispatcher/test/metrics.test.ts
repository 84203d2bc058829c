import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRecorder, readLatest, readMetrics, readRecentCounters, subscriberId } from '@tickercast/shared';
import { testDispatcher, type TestDispatcher } from '../../../test/support/dispatcher.ts';
import { until } from '../../../test/support/processes.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';
import { startSimulator, type RunningSimulator } from '../../../test/support/simulator.ts';

describe('dispatcher metrics', () => {
  let sim: RunningSimulator;
  let t: TestRedis;
  let d: TestDispatcher;
  let metrics: MetricsRecorder;
  let throttle = 2;

  beforeAll(async () => {
    sim = await startSimulator(undefined, ({ app }) =>
      app.addHook('onRequest', async (req, reply) => {
        if (req.url === '/v1/messages' && throttle > 0) {
          throttle--;
          return reply.code(429).header('retry-after', '0').send({ title: 'Rate Limit Hit' });
        }
      }),
    );
    t = testRedis();
    metrics = new MetricsRecorder(t.redis, t.keys, 60_000);
    d = await testDispatcher(t, sim, {
      concurrency: 1,
      metrics,
      clientOptions: { onResponse: ({ channel, status }) => metrics.inc('tickercast_provider_responses_total', { channel, status: String(status) }) },
    });
  });
  afterAll(async () => {
    await d.close();
    await metrics.close();
    await t.cleanup();
    await sim.close();
  });

  it('counts 429s, sends, failures by reason, and the tick-to-acceptance latency', async () => {
    await d.store.subscribe('sms', '447700904001', ['MSFT'], Date.now() - 1000);
    await d.store.subscribe('sms', '12345', ['MSFT'], Date.now() - 1000);
    // A tick 30 ms ago: the latency runs from the tick the message carries.
    const q = await d.prices.set('MSFT', 401, Date.now() - 30);
    await d.queues.fanout.add('fanout', { symbol: 'MSFT', version: q.version, tickedAt: q.tickedAt });
    await until('both sends finished', async () => {
      const c = await d.queues.send.sms.getJobCounts('completed', 'failed');
      return c.completed! + c.failed! === 2;
    });
    await new Promise((r) => setTimeout(r, 100));
    const flushedBefore = Date.now();
    await metrics.flush();

    const [sent] = await d.queues.send.sms.getCompleted();
    const { counters, histograms } = await readMetrics(t.redis, t.keys);
    const counter = (name: string, labels: Record<string, string>) =>
      counters.find((c) => c.name === name && Object.entries(labels).every(([k, v]) => c.labels[k] === v))?.value;
    expect(counter('tickercast_provider_responses_total', { channel: 'sms', status: '429' })).toBe(2);
    expect(counter('tickercast_provider_responses_total', { channel: 'sms', status: '202' })).toBe(1);
    expect(counter('tickercast_send_jobs_total', { channel: 'sms', kind: 'feed', outcome: 'sent' })).toBe(1);
    expect(counter('tickercast_job_failures_total', { queue: 'send-sms', reason: 'recipient_unreachable' })).toBe(1);
    const latency = histograms.find((h) => h.name === 'tickercast_send_latency_ms');
    expect(latency?.count).toBe(1);
    expect(latency!.sum).toBeGreaterThanOrEqual(30);
    expect(histograms.find((h) => h.name === 'tickercast_queue_wait_ms' && h.labels.queue === 'fanout')?.count).toBe(1);
    expect(await d.store.isSubscribed(subscriberId('sms', '12345'), 'MSFT')).toBe(false);

    // The price accepted by the provider is the channel's last, with its time, in the same flush; no other channel has one.
    const latest = await readLatest(t.redis, t.keys);
    expect(latest.map((g) => [g.name, g.labels])).toEqual([['tickercast_last_price_sent_timestamp_seconds', { channel: 'sms' }]]);
    expect(latest[0]!.value * 1000).toBeGreaterThanOrEqual(sent!.finishedOn! - 1);
    expect(latest[0]!.value * 1000).toBeLessThanOrEqual(flushedBefore);
    // And the 429s are among the counters of the last minute, not only the totals.
    const recent = await readRecentCounters(t.redis, t.keys);
    expect(recent.find((c) => c.name === 'tickercast_provider_responses_total' && c.labels.status === '429')?.value).toBe(2);
  });
});
