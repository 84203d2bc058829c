import type { FastifyPluginAsync } from 'fastify';
import { requireAdmin } from '../admin/auth.ts';
import { clientSubject } from '../client-address.ts';
import { SnapshotBroadcaster, type DashboardUpdate } from './broadcaster.ts';
import { EventStreams } from './event-streams.ts';
import { CHART_POINTS, dashboardPage } from './page.ts';
import { takeSnapshot, type SnapshotSources } from './snapshot.ts';

export interface DashboardOptions extends SnapshotSources {
  /** How often the dashboard refreshes, ms (default 1000). */
  intervalMs?: number;
  /** A snapshot not taken after this long says Redis is unavailable (default: 3 intervals, at least 3 s). */
  unavailableAfterMs?: number;
  /** The open event streams with their caps (the metrics read them too); a fresh set with the default caps when not given. */
  streams?: EventStreams;
  /**
   * ADMIN_TOKEN: the dashboard shows what /metrics shows (queues, delivery outcomes), so it
   * follows the same rule: open without a token, behind it (Basic, so a browser logs in) with one.
   */
  token?: string;
  /** PUBLIC_URL, for the admin check. */
  publicUrl?: string;
}

/** The live dashboard at `/`, fed by server-sent events at `/dashboard/events`. */
export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  const broadcaster = new SnapshotBroadcaster(
    () => takeSnapshot(opts),
    opts.intervalMs ?? 1000,
    (err) => app.log.warn({ err }, 'dashboard snapshot failed'),
    opts.unavailableAfterMs,
  );
  const streams = opts.streams ?? new EventStreams();
  if (opts.token) app.addHook('onRequest', requireAdmin(opts.token, 'Basic', opts.publicUrl ?? 'http://localhost'));
  // An open event stream would hold the server open at shutdown: end them first.
  app.addHook('preClose', async () => {
    broadcaster.stop();
    streams.endAll();
  });

  // Every stream gets the same update: serialized once, not once per viewer.
  let lastUpdate: DashboardUpdate | undefined;
  let lastFrame = '';
  const frameOf = (u: DashboardUpdate) => {
    if (u !== lastUpdate) {
      lastUpdate = u;
      lastFrame = 'snapshot' in u ? `event: snapshot\ndata: ${JSON.stringify(u.snapshot)}\n\n` : `event: unavailable\ndata: ${JSON.stringify(u.unavailable)}\n\n`;
    }
    return lastFrame;
  };

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage(opts.symbols)));
  app.get('/dashboard/snapshot', async () => takeSnapshot(opts));
  // What the charts draw on load, so that they do not start empty: the last ticks of every symbol.
  app.get('/dashboard/history', async () => opts.prices.histories(opts.symbols, CHART_POINTS));

  app.get('/dashboard/events', (req, reply) => {
    const client = clientSubject(req.ip);
    const refusal = streams.refusal(client);
    if (refusal) {
      streams.refused();
      req.log.warn({ reason: refusal }, 'dashboard stream refused');
      // EventSource retries after an error status only when told to by the page; a plain 429 with the reason.
      return reply.code(429).header('retry-after', '30').send({ error: 'too many dashboard streams', reason: refusal });
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const stream = streams.add(res, client);
    const unsubscribe = broadcaster.subscribe((u) => stream.send(frameOf(u)));
    res.on('close', () => {
      stream.remove();
      unsubscribe();
    });
  });
};
