import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Queues, RedisKeys } from '@tickercast/shared';
import { healthRoutes } from './health.ts';
import { messagesApiWebhooks } from './webhooks/messages-api.ts';
import { smsApiWebhooks } from './webhooks/sms-api.ts';

export interface IngressDeps {
  queues: Queues;
  redis: Redis;
  keys: RedisKeys;
  logger?: FastifyBaseLogger;
}

export function buildIngress(deps: IngressDeps): FastifyInstance {
  const common = { bodyLimit: 64 * 1024, logController: new LogController({ disableRequestLogging: true }), trustProxy: true };
  const app: FastifyInstance = deps.logger
    ? Fastify({ ...common, loggerInstance: deps.logger })
    : Fastify({ ...common, logger: false });

  // Client mistakes (bad JSON, too large, wrong content type) keep their 4xx and say why;
  // anything else is our fault: logged, and a 500 so that Vonage retries the webhook later.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.message, code: err.code });
    // The path only: an SMS API query string holds the sender's number and text.
    req.log.error({ err, url: req.url.split('?')[0] }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.register(formbody, { bodyLimit: 64 * 1024 });
  app.register(healthRoutes, { redis: deps.redis });
  app.register(messagesApiWebhooks, { queues: deps.queues });
  app.register(smsApiWebhooks, { queues: deps.queues, redis: deps.redis, keys: deps.keys });
  return app;
}
