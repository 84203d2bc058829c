import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisClient } from '@tickercast/shared';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DeliveryLog, metricsToPrometheus, readMetrics, WORKER_METRIC_HELP, type Queues, type RedisKeys } from '@tickercast/shared';
import { requireAdmin } from './admin/auth.ts';
import type { EventStreams } from './dashboard/event-streams.ts';
import type { WebhookOutcome } from './types.ts';

export interface MetricsOptions {
  queues: Queues;
  redis: RedisClient;
  keys: RedisKeys;
  /** When set, /metrics wants the admin token too (Bearer, or Basic with the token as password). */
  token: string | undefined;
  /** PUBLIC_URL, for the admin check. */
  publicUrl: string;
  /** The dashboard's open event streams, reported per process. */
  dashboardStreams?: EventStreams;
}

const OUTCOMES: readonly WebhookOutcome[] = ['accepted', 'duplicate', 'invalid', 'unauthorized', 'error'];

/** Process metrics (CPU, memory, event loop) are the process's, whichever app asks: collected once, kept apart from each app's registry. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'tickercast_ingress_' });
  }
  return processRegistry;
}

function outcomeOf(status: number, set: WebhookOutcome | undefined): WebhookOutcome {
  if (status >= 500) return 'error';
  if (status === 401) return 'unauthorized';
  if (status >= 400) return 'invalid';
  return set ?? 'accepted';
}

/**
 * GET /metrics in the Prometheus text format, from a registry this app owns: webhooks by route
 * and outcome (counted here), queue depths per queue and state and sends per channel and status
 * (both read from Redis at each scrape, so every replica reports the same system-wide numbers),
 * followed by the metrics the dispatchers keep in Redis.
 */
const plugin: FastifyPluginAsync<MetricsOptions> = async (app, opts) => {
  const registry = new Registry();
  const deliveries = new DeliveryLog(opts.redis, opts.keys);

  const webhooks = new Counter({
    name: 'tickercast_webhooks_total',
    help: 'Webhooks received by this ingress, by route and outcome (accepted, duplicate, invalid, unauthorized, error).',
    labelNames: ['route', 'outcome'] as const,
    registers: [registry],
  });

  new Gauge({
    name: 'tickercast_queue_jobs',
    help: 'Jobs in each queue, by state (read from Redis at scrape time).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const all = await Promise.all(opts.queues.all().map(async (q) => [q.name, await q.getJobCounts()] as const));
      this.reset();
      for (const [queue, counts] of all) for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
    },
  });

  new Counter({
    name: 'tickercast_sends_total',
    help: 'Messages sent, by channel and the delivery state they reached (accepted by the API, then delivered, read, failed...), across every dispatcher.',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
    async collect() {
      const counts = await deliveries.counts();
      this.reset();
      for (const [key, n] of Object.entries(counts)) {
        const colon = key.indexOf(':');
        this.inc({ channel: key.slice(0, colon), status: key.slice(colon + 1) }, n);
      }
    },
  });

  const streams = opts.dashboardStreams;
  if (streams) {
    new Gauge({
      name: 'tickercast_dashboard_streams',
      help: 'Dashboard event streams open on this ingress.',
      registers: [registry],
      collect() {
        this.set(streams.stats().open);
      },
    });
    new Gauge({
      name: 'tickercast_dashboard_buffered_bytes',
      help: 'Bytes this ingress holds for dashboard streams not yet sent (about one frame per slow reader at most).',
      registers: [registry],
      collect() {
        this.set(streams.stats().bufferedBytes);
      },
    });
    new Counter({
      name: 'tickercast_dashboard_stream_events_total',
      help: 'Dashboard stream events on this ingress: frames skipped for a client not reading, streams refused at the caps, streams closed for not reading.',
      labelNames: ['event'] as const,
      registers: [registry],
      collect() {
        const s = streams.stats();
        this.reset();
        this.inc({ event: 'skipped' }, s.skipped);
        this.inc({ event: 'refused' }, s.refused);
        this.inc({ event: 'closed_stalled' }, s.closedStalled);
      },
    });
  }

  // Every webhook route starts at zero for every outcome, so rates exist before the first event.
  app.addHook('onRoute', (route) => {
    if (!route.config?.webhook) return;
    for (const outcome of OUTCOMES) webhooks.labels(route.url, outcome).inc(0);
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!req.routeOptions.config.webhook || !req.routeOptions.url) return;
    webhooks.labels(req.routeOptions.url, outcomeOf(reply.statusCode, req.webhookOutcome)).inc();
  });

  app.get('/metrics', { onRequest: opts.token ? requireAdmin(opts.token, 'Bearer', opts.publicUrl) : [] }, async (_req, reply) => {
    const merged = Registry.merge([registry, processMetrics()]);
    // The dispatchers' own metrics (queue wait, send latency, 429s, retries, failures), summed over every replica in Redis.
    const workers = metricsToPrometheus(await readMetrics(opts.redis, opts.keys), WORKER_METRIC_HELP);
    return reply.type(merged.contentType).send((await merged.metrics()) + workers);
  });
};

export const metrics = fp(plugin, { name: 'metrics', fastify: '5.x' });
