import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RedisClient } from '@tickercast/shared';
import { inboundJobId, inboundMessageSchema, statusJobId, type Queues, type RedisKeys } from '@tickercast/shared';
import type { RedisDeadline } from '../types.ts';
import { enqueueOnce, okBody } from './enqueue.ts';
import { fromSmsInbound, smsInboundSchema, smsReceiptWebhook } from './schemas.ts';
import { addSmsPart, markSmsJoined, SMS_CONCAT_MAX_PARTS } from './sms-concat.ts';
import { validate } from './validate.ts';

export interface SmsApiPluginOptions {
  queues: Queues;
  redis: RedisClient;
  keys: RedisKeys;
  deadline: RedisDeadline;
}

/** The SMS API sends its parameters in the query (GET) or the body (form or JSON POST). */
function params(req: FastifyRequest): unknown {
  return req.method === 'GET' ? req.query : req.body;
}

/**
 * The SMS API's account-level webhooks, as the tutorial configures them: inbound SMS (long ones
 * in parts, joined here) and delivery receipts. Signed with `sig` (checked by the signatures
 * plugin before the handler runs).
 */
export const smsApiWebhooks: FastifyPluginAsync<SmsApiPluginOptions> = async (app, { queues, redis, keys, deadline }) => {
  app.route({
    method: ['GET', 'POST'],
    url: '/webhooks/inbound-sms',
    bodyLimit: 64 * 1024,
    config: { webhook: 'sms' },
    handler: async (req, reply) => {
      const body = validate(smsInboundSchema, params(req), reply);
      if (!body) return reply;
      // The part (or the whole message) as a job, checked by the job's schema before anything is kept.
      const message = validate(inboundMessageSchema, fromSmsInbound(body), reply);
      if (!message) return reply;

      const ref = body['concat-ref'];
      const total = body['concat-total'];
      const part = body['concat-part'];
      if (body.concat === 'true' && ref && total && part) {
        if (part > total) return reply.code(400).send({ error: 'concat-part is greater than concat-total' });
        req.webhookOutcome = 'accepted';
        // Past the parts a command can read: acknowledged so that Vonage stops resending, never stored.
        if (part > SMS_CONCAT_MAX_PARTS) return reply.code(200).send({ ok: true });
        const added = await deadline(() => addSmsPart(redis, keys, { from: body.msisdn, ref, total, part, text: body.text, messageId: body.messageId }));
        if (added.kind === 'duplicate') {
          req.webhookOutcome = 'duplicate';
          return reply.code(200).send(okBody('duplicate'));
        }
        if (added.kind === 'waiting') return reply.code(200).send({ ok: true, parts: added.parts, of: total });
        const joined = inboundMessageSchema.parse(fromSmsInbound(body, added));
        const outcome = await enqueueOnce(req, deadline, queues.inbound, 'inbound', joined, inboundJobId(joined));
        // Only once the job is in: until then the parts stay, for the retry of this request.
        await deadline(() => markSmsJoined(redis, keys, { from: body.msisdn, ref }, added.partIds));
        return reply.code(200).send(okBody(outcome));
      }

      return reply.code(200).send(okBody(await enqueueOnce(req, deadline, queues.inbound, 'inbound', message, inboundJobId(message))));
    },
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/webhooks/delivery-receipt',
    bodyLimit: 64 * 1024,
    config: { webhook: 'sms' },
    handler: async (req, reply) => {
      const update = validate(smsReceiptWebhook, params(req), reply);
      if (!update) return reply;
      return reply.code(200).send(okBody(await enqueueOnce(req, deadline, queues.status, 'status', update, statusJobId(update))));
    },
  });
};
