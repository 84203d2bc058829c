import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';

/** A readiness probe answers within this long, whatever Redis does. */
const READY_TIMEOUT_MS = 1000;

export const healthRoutes: FastifyPluginAsync<{ redis: Redis }> = async (app, { redis }) => {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      // The app's connection waits out an outage (maxRetriesPerRequest: null), so a PING while
      // Redis is away would hang the probe: a lost connection is not ready, and a PING is bounded.
      if (['reconnecting', 'close', 'end'].includes(redis.status)) throw new Error(`connection is ${redis.status}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to PING within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      });
      await Promise.race([redis.ping(), timeout]).finally(() => clearTimeout(timer));
      return { ok: true };
    } catch (err) {
      return reply.code(503).send({ ok: false, error: `redis: ${(err as Error).message}` });
    }
  });
};
