import { randomInt } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { channelSchema } from '@tickercast/shared';
import type { SimContext } from './context.ts';
import { inboundWebhookBody } from './inbound.ts';
import { smsApiInboundParams, smsApiRequest } from './sms-api-inbound.ts';
import type { OutgoingRequest } from './webhook-delivery.ts';

/*
 * The phones: any number of simulated users on each channel. What a phone sends goes to the
 * application as Vonage would post it; what the application sends a phone shows in its
 * conversation with its latest status.
 */

const phoneParams = z.object({ channel: channelSchema, number: z.string().regex(/^\d{5,32}$/, 'digits only') });
const sendBody = z.object({
  text: z.string().min(1).max(1600),
  /** SMS only: a Messages API inbound webhook, or the SMS API's account-level inbound-sms (in parts when long). */
  format: z.enum(['messages', 'sms-api']).optional(),
  method: z.enum(['GET', 'POST', 'POST-JSON']).optional(),
});
const lastInboundBody = z.object({
  /** When the phone last wrote: epoch ms, an ISO 8601 time, or null for never. */
  at: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((v) => Date.parse(v)), z.null()]),
});

const isAccepted = (o: number | string) => o === 200 || o === 204;
/** One outcome for several webhooks: the first that was not taken, else the first. */
const overall = (outcomes: (number | string)[]) => outcomes.find((o) => !isAccepted(o)) ?? outcomes[0]!;

export const phoneRoutes: FastifyPluginAsync<{ ctx: SimContext }> = async (app, { ctx }) => {
  const { options, store, windows } = ctx;

  app.get('/_sim/phones', async () => ({ phones: store.phones() }));

  app.get('/_sim/phones/:channel/:number', async (req, reply) => {
    const p = phoneParams.safeParse(req.params);
    if (!p.success) return reply.code(400).send({ error: z.prettifyError(p.error) });
    const { channel, number } = p.data;
    const conversation = store.conversation(channel, number);
    if (channel !== 'whatsapp') return { channel, number, conversation };
    const last = windows.lastInbound(number);
    const openUntil = windows.openUntil(number, ctx.now());
    return {
      channel,
      number,
      conversation,
      window: {
        enforced: ctx.settings.whatsappWindow,
        lastInboundAt: last === undefined ? null : new Date(last).toISOString(),
        openUntil: openUntil === undefined ? null : new Date(openUntil).toISOString(),
      },
    };
  });

  /** For tests and people exploring: move a WhatsApp phone's last message in time (null: it never wrote). */
  app.put('/_sim/phones/whatsapp/:number/last-inbound', async (req, reply) => {
    const p = phoneParams.safeParse({ ...(req.params as object), channel: 'whatsapp' });
    const b = lastInboundBody.safeParse(req.body);
    if (!p.success || !b.success) return reply.code(400).send({ error: z.prettifyError((p.error ?? b.error)!) });
    windows.set(p.data.number, b.data.at ?? undefined);
    return reply.code(204).send();
  });

  app.post('/_sim/phones/:channel/:number/send', async (req, reply) => {
    const p = phoneParams.safeParse(req.params);
    const b = sendBody.safeParse(req.body);
    if (!p.success || !b.success) return reply.code(400).send({ error: z.prettifyError((p.error ?? b.error)!) });
    const { channel, number } = p.data;
    const format = b.data.format ?? (channel === 'sms' ? ctx.settings.smsInbound.format : 'messages');
    if (format === 'sms-api' && channel !== 'sms') return reply.code(400).send({ error: 'format sms-api is for the sms channel only' });
    const at = new Date(ctx.now());
    if (channel === 'whatsapp') windows.record(number, at.getTime());

    if (format === 'sms-api') {
      const parts = smsApiInboundParams({
        msisdn: number,
        to: options.businessNumbers.sms,
        text: b.data.text,
        apiKey: options.credentials.basic?.apiKey ?? 'simulator',
        at,
        concatRef: nextConcatRef(ctx, number),
        signature: options.signatureSecret ? { secret: options.signatureSecret, method: options.signatureMethod ?? 'md5hash' } : undefined,
      });
      const messageIds = parts.map((params) => params.messageId!);
      store.recordInbound(channel, number, { at: at.toISOString(), text: b.data.text, messageUuid: messageIds[0]! });
      const method = b.data.method ?? ctx.settings.smsInbound.method;
      const url = `${options.webhookBaseUrl}/webhooks/inbound-sms`;
      const outcomes: (number | string)[] = [];
      for (const params of parts) outcomes.push(await ctx.sender.deliver('inbound-sms', () => smsApiRequest(url, params, method)));
      return reply.code(202).send({ message_id: messageIds[0], message_ids: messageIds, parts: outcomes, webhook: overall(outcomes) });
    }

    const body = inboundWebhookBody({ channel, from: number, to: options.businessNumbers[channel], text: b.data.text }, at);
    const messageUuid = body.message_uuid as string;
    store.recordInbound(channel, number, { at: body.timestamp as string, text: b.data.text, messageUuid });
    const raw = JSON.stringify(body);
    const webhook = await ctx.sender.deliver('inbound', async (): Promise<OutgoingRequest> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (ctx.sign) headers.authorization = await ctx.sign(raw);
      return { url: `${options.webhookBaseUrl}/webhooks/inbound`, method: 'POST', headers, body: raw };
    });
    return reply.code(202).send({ message_uuid: messageUuid, webhook });
  });
};

/** A handset numbers its long messages 1-255 in turn; starting at random keeps restarts from reusing references. */
function nextConcatRef(ctx: SimContext, number: string): number {
  const ref = ctx.concatRefs.get(number) ?? randomInt(1, 256);
  ctx.concatRefs.set(number, (ref % 255) + 1);
  return ref;
}
