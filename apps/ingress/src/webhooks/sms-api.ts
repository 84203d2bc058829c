import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { inboundJobId, statusJobId, type Queues, type RedisKeys } from '@tickercast/shared';
import { enqueueOnce, okBody } from './enqueue.ts';
import { fromSmsInbound, fromSmsReceipt, smsInboundSchema, smsReceiptSchema } from './schemas.ts';
import { validate } from './validate.ts';

export interface SmsApiPluginOptions {
  queues: Queues;
  redis: Redis;
  keys: RedisKeys;
}

/** How long the parts of a long SMS wait for each other: Vonage keeps resending for 24 hours. */
const CONCAT_TTL_S = 24 * 60 * 60;

/** The SMS API sends its parameters in the query (GET) or the body (form or JSON POST). */
function params(req: FastifyRequest): unknown {
  return req.method === 'GET' ? req.query : req.body;
}

/**
 * The SMS API's account-level webhooks, as the tutorial configures them: inbound SMS (long ones
 * in parts, joined here) and delivery receipts. Signed with `sig` (checked by the signatures
 * plugin before the handler runs).
 */
export const smsApiWebhooks: FastifyPluginAsync<SmsApiPluginOptions> = async (app, { queues, redis, keys }) => {
  app.route({
    method: ['GET', 'POST'],
    url: '/webhooks/inbound-sms',
    bodyLimit: 64 * 1024,
    config: { webhook: 'sms' },
    handler: async (req, reply) => {
      const body = validate(smsInboundSchema, params(req), reply);
      if (!body) return reply;

      const ref = body['concat-ref'];
      const total = body['concat-total'];
      const part = body['concat-part'];
      if (body.concat === 'true' && ref && total && part) {
        if (part > total) return reply.code(400).send({ error: 'concat-part is greater than concat-total' });
        const key = keys.smsConcatParts(body.msisdn, ref);
        const [, , [, count]] = (await redis
          .multi()
          .hset(key, String(part), body.text)
          .expire(key, CONCAT_TTL_S)
          .hlen(key)
          .exec()) as [unknown, unknown, [null, number]];
        if (count < total) {
          req.webhookOutcome = 'accepted';
          return reply.code(200).send({ ok: true, parts: count, of: total });
        }
        const parts = await redis.hgetall(key);
        const text = Array.from({ length: total }, (_, i) => parts[String(i + 1)] ?? '').join('');
        // The joined message is identified by its reference, so a late redelivered part adds nothing.
        const message = fromSmsInbound({ ...body, messageId: `concat-${body.msisdn}-${ref}` }, text);
        return reply.code(200).send(okBody(await enqueueOnce(req, queues.inbound, 'inbound', message, inboundJobId(message))));
      }

      const message = fromSmsInbound(body);
      return reply.code(200).send(okBody(await enqueueOnce(req, queues.inbound, 'inbound', message, inboundJobId(message))));
    },
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/webhooks/delivery-receipt',
    bodyLimit: 64 * 1024,
    config: { webhook: 'sms' },
    handler: async (req, reply) => {
      const body = validate(smsReceiptSchema, params(req), reply);
      if (!body) return reply;
      const update = fromSmsReceipt(body);
      return reply.code(200).send(okBody(await enqueueOnce(req, queues.status, 'status', update, statusJobId(update))));
    },
  });
};
