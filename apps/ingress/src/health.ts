import type { FastifyPluginAsync } from 'fastify';
import type { RedisClient } from '@tickercast/shared';
import { withinDeadline } from '@tickercast/shared';

/** A readiness probe answers within this long, whatever Redis does. */
const READY_TIMEOUT_MS = 1000;

export const healthRoutes: FastifyPluginAsync<{ redis: RedisClient }> = async (app, { redis }) => {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      // The app's connection waits out an outage (maxRetriesPerRequest: null), so a PING while
      // Redis is away would hang the probe: a lost connection is not ready, and a PING is bounded.
      await withinDeadline(redis, READY_TIMEOUT_MS, () => redis.ping());
      return { ok: true };
    } catch (err) {
      return reply.code(503).send({ ok: false, error: `redis: ${(err as Error).message}` });
    }
  });
};
