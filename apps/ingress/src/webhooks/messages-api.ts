import type { FastifyPluginAsync } from 'fastify';
import { inboundJobId, statusJobId, type Queues } from '@tickercast/shared';
import type { RedisDeadline } from '../types.ts';
import { enqueueOnce, okBody } from './enqueue.ts';
import { messagesInboundWebhook, messagesStatusWebhook } from './schemas.ts';
import { validate } from './validate.ts';

export interface WebhookPluginOptions {
  queues: Queues;
  deadline: RedisDeadline;
}

/**
 * Messages API v1 webhooks: JSON POSTs for every channel, signed with an HS256 JWT (checked by
 * the signatures plugin before the handler runs). A valid one becomes a job whose id is derived
 * from the provider's id (a redelivery is the same job) and is answered 200 at once.
 */
export const messagesApiWebhooks: FastifyPluginAsync<WebhookPluginOptions> = async (app, { queues, deadline }) => {
  // Vonage posts these as JSON only, and `payload_hash` is checked against the JSON text as
  // received: a form or any other body is refused before it is parsed, so no parser can turn an
  // unsigned body into one that passes a token signed for another (say, an empty one).
  app.addHook('onRequest', async (req, reply) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') return;
    req.webhookOutcome = 'invalid';
    return reply.code(415).send({ error: 'unsupported content type', reason: 'Messages API webhooks are JSON (application/json)' });
  });

  app.post('/webhooks/inbound', { bodyLimit: 64 * 1024, config: { webhook: 'messages' } }, async (req, reply) => {
    const message = validate(messagesInboundWebhook, req.body, reply);
    if (!message) return reply;
    const outcome = await enqueueOnce(req, deadline, queues.inbound, 'inbound', message, inboundJobId(message));
    return reply.code(200).send(okBody(outcome));
  });

  app.post('/webhooks/status', { bodyLimit: 64 * 1024, config: { webhook: 'messages' } }, async (req, reply) => {
    const update = validate(messagesStatusWebhook, req.body, reply);
    if (!update) return reply;
    const outcome = await enqueueOnce(req, deadline, queues.status, 'status', update, statusJobId(update));
    return reply.code(200).send(okBody(outcome));
  });
};
