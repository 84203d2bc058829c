import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/** How often, while the server closes, the keep-alive connections that went idle are closed. */
const SWEEP_MS = 50;

/**
 * At shutdown, closes each keep-alive connection as soon as it goes idle. Fastify 5.12 closes
 * those idle when `close()` begins, but one busy then (a provider's webhook in flight) stays
 * open after its answer until its keep-alive timeout, 72 s (fastify/fastify#7044): the process
 * then runs out its grace and exits 1. The provider retries what a closing server answered 503.
 */
const plugin: FastifyPluginAsync = async (app) => {
  app.addHook('preClose', async () => {
    const sweep = setInterval(() => app.server.closeIdleConnections(), SWEEP_MS);
    app.server.once('close', () => clearInterval(sweep));
  });
};

export const closeIdleConnections = fp(plugin, { name: 'close-idle-connections', fastify: '5.x' });
