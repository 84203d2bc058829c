import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { SimContext } from './context.ts';
import { faultsInput } from './faults.ts';
import { LIMIT_KEYS, type LimitKey } from './rate-limit.ts';
import { API_CHANNELS, type ApiChannel } from './request-schema.ts';
import { WEBHOOK_KINDS, type WebhookKind } from './webhook-delivery.ts';

/*
 * The inspection and control API, under /_sim: what was accepted, the counters, the settings
 * that can change at runtime (rate limits, status outcomes, webhook retries), and faults.
 */

const listQuery = z.object({
  channel: z.enum(API_CHANNELS as [ApiChannel, ...ApiChannel[]]).optional(),
  to: z.string().optional(),
  since: z.coerce.number().optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000),
});

const failStatus = z.enum(['rejected', 'undeliverable']);
const errorCode = z.number().int().min(1000).max(9999);

const settingsPatch = z.strictObject({
  rateLimits: z.partialRecord(z.enum(LIMIT_KEYS as [LimitKey, ...LimitKey[]]), z.number().int().min(0).max(1_000_000)).optional(),
  statusWebhooks: z
    .strictObject({
      enabled: z.boolean(),
      delayMs: z.number().int().min(0).max(60_000),
      failRate: z.number().min(0).max(1),
      failStatus,
      failCode: errorCode,
      deliveryDelayMs: z.number().int().min(0).max(7 * 24 * 60 * 60 * 1000),
      failNumbers: z.record(z.string().min(1).max(50), z.strictObject({ status: failStatus.default('rejected'), code: errorCode.default(1240) })),
    })
    .partial()
    .optional(),
  webhookDelivery: z
    .strictObject({
      retries: z.number().int().min(0).max(30),
      retryBaseMs: z.number().int().min(1).max(900_000),
      timeoutMs: z.number().int().min(1).max(60_000),
    })
    .partial()
    .optional(),
  whatsappWindow: z.boolean().optional(),
  smsInbound: z.strictObject({ format: z.enum(['messages', 'sms-api']), method: z.enum(['GET', 'POST', 'POST-JSON']) }).partial().optional(),
});

const webhooksQuery = z.object({
  kind: z.enum(WEBHOOK_KINDS as [WebhookKind, ...WebhookKind[]]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const controlRoutes: FastifyPluginAsync<{ ctx: SimContext }> = async (app, { ctx }) => {
  app.get('/_sim/messages', async (req, reply) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: z.prettifyError(q.error) });
    const all = ctx.store.messages(q.data);
    return { total: all.length, acceptedTotal: ctx.store.acceptedTotal, messages: all.slice(-q.data.limit) };
  });
  app.delete('/_sim/messages', async (_req, reply) => {
    ctx.reset();
    return reply.code(204).send();
  });

  app.get('/_sim/stats', async () => ctx.stats());

  const settings = () => ({ rateLimits: ctx.limiter.limits(), ...ctx.settings });
  app.get('/_sim/settings', async () => settings());
  app.patch('/_sim/settings', async (req, reply) => {
    const patch = settingsPatch.safeParse(req.body);
    if (!patch.success) return reply.code(400).send({ error: z.prettifyError(patch.error) });
    const { rateLimits, statusWebhooks, webhookDelivery, whatsappWindow, smsInbound } = patch.data;
    if (rateLimits) ctx.limiter.setLimits(rateLimits);
    if (statusWebhooks) Object.assign(ctx.settings.statusWebhooks, statusWebhooks);
    if (webhookDelivery) Object.assign(ctx.settings.webhookDelivery, webhookDelivery);
    if (whatsappWindow !== undefined) ctx.settings.whatsappWindow = whatsappWindow;
    if (smsInbound) Object.assign(ctx.settings.smsInbound, smsInbound);
    return settings();
  });

  app.get('/_sim/faults', async () => ctx.faults.describe());
  app.post('/_sim/faults', async (req, reply) => {
    const input = faultsInput.safeParse(req.body);
    if (!input.success) return reply.code(400).send({ error: z.prettifyError(input.error) });
    ctx.faults.set(input.data);
    return ctx.faults.describe();
  });
  app.delete('/_sim/faults', async (_req, reply) => {
    ctx.faults.clear();
    return reply.code(204).send();
  });

  /** The latest webhook attempts (bodies included), newest last. */
  app.get('/_sim/webhooks', async (req, reply) => {
    const q = webhooksQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: z.prettifyError(q.error) });
    const records = ctx.sender.recent().filter((r) => q.data.kind === undefined || r.kind === q.data.kind);
    return { webhooks: records.slice(-q.data.limit) };
  });
};
