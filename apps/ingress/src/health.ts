import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';

export const healthRoutes: FastifyPluginAsync<{ redis: Redis }> = async (app, { redis }) => {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await redis.ping();
      return { ok: true };
    } catch (err) {
      return reply.code(503).send({ ok: false, error: `redis: ${(err as Error).message}` });
    }
  });
};
