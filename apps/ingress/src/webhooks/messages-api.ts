import type { FastifyPluginAsync } from 'fastify';
import { inboundJobId, statusJobId, type Queues } from '@tickercast/shared';
import { enqueueOnce, okBody } from './enqueue.ts';
import { messagesInboundWebhook, messagesStatusWebhook } from './schemas.ts';
import { validate } from './validate.ts';

export interface WebhookPluginOptions {
  queues: Queues;
}

/**
 * Messages API v1 webhooks: JSON POSTs for every channel, signed with an HS256 JWT (checked by
 * the signatures plugin before the handler runs). A valid one becomes a job whose id is derived
 * from the provider's id (a redelivery is the same job) and is answered 200 at once.
 */
export const messagesApiWebhooks: FastifyPluginAsync<WebhookPluginOptions> = async (app, { queues }) => {
  app.post('/webhooks/inbound', { bodyLimit: 64 * 1024, config: { webhook: 'messages' } }, async (req, reply) => {
    const message = validate(messagesInboundWebhook, req.body, reply);
    if (!message) return reply;
    const outcome = await enqueueOnce(req, queues.inbound, 'inbound', message, inboundJobId(message));
    return reply.code(200).send(okBody(outcome));
  });

  app.post('/webhooks/status', { bodyLimit: 64 * 1024, config: { webhook: 'messages' } }, async (req, reply) => {
    const update = validate(messagesStatusWebhook, req.body, reply);
    if (!update) return reply;
    const outcome = await enqueueOnce(req, queues.status, 'status', update, statusJobId(update));
    return reply.code(200).send(okBody(outcome));
  });
};
