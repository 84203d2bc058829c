import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { SnapshotBroadcaster } from './broadcaster.ts';
import { dashboardPage } from './page.ts';
import { takeSnapshot, type SnapshotSources } from './snapshot.ts';

export interface DashboardOptions extends SnapshotSources {
  /** How often the dashboard refreshes, ms (default 1000). */
  intervalMs?: number;
}

/** The live dashboard at `/`, fed by server-sent events at `/dashboard/events`. */
export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  const broadcaster = new SnapshotBroadcaster(() => takeSnapshot(opts), opts.intervalMs ?? 1000, (err) =>
    app.log.warn({ err }, 'dashboard snapshot failed'),
  );
  // An open event stream would hold the server open at shutdown: end them first.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    broadcaster.stop();
    for (const res of streams) res.end();
  });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage(opts.symbols)));
  app.get('/dashboard/snapshot', async () => takeSnapshot(opts));

  app.get('/dashboard/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const unsubscribe = broadcaster.subscribe((s) => res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`));
    req.raw.on('close', () => {
      streams.delete(res);
      unsubscribe();
    });
  });
};
