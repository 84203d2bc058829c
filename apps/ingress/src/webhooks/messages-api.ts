import type { FastifyPluginAsync } from 'fastify';
import { inboundJobId, statusJobId, type Queues } from '@tickercast/shared';
import { fromMessagesInbound, fromMessagesStatus, messagesInboundSchema, messagesStatusSchema } from './schemas.ts';
import { validate } from './validate.ts';

export interface WebhookPluginOptions {
  queues: Queues;
}

/**
 * Messages API v1 webhooks: JSON POSTs for every channel. A valid one becomes a job whose id is
 * derived from the provider's id (a redelivery is the same job) and is answered 200 at once.
 */
export const messagesApiWebhooks: FastifyPluginAsync<WebhookPluginOptions> = async (app, { queues }) => {
  app.post('/webhooks/inbound', { bodyLimit: 64 * 1024 }, async (req, reply) => {
    const body = validate(messagesInboundSchema, req.body, reply);
    if (!body) return reply;
    const message = fromMessagesInbound(body);
    await queues.inbound.add('inbound', message, { jobId: inboundJobId(message) });
    return reply.code(200).send({ ok: true });
  });

  app.post('/webhooks/status', { bodyLimit: 64 * 1024 }, async (req, reply) => {
    const body = validate(messagesStatusSchema, req.body, reply);
    if (!body) return reply;
    const update = fromMessagesStatus(body);
    await queues.status.add('status', update, { jobId: statusJobId(update) });
    return reply.code(200).send({ ok: true });
  });
};
