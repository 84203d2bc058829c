import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { signMessagesWebhook } from '@tickercast/messages-client';
import { checkAuthorization, type SimulatorCredentials } from './auth.ts';
import { inboundWebhookBody } from './inbound.ts';
import { phonePage } from './phone-page.ts';
import { sendProblem } from './problems.ts';
import { API_CHANNELS, SIM_CHANNELS, validateRequest, type ApiChannel, type SimChannel } from './request-schema.ts';
import { displayText, SimulatorStore } from './store.ts';

export interface SimulatorOptions {
  credentials: SimulatorCredentials;
  /** Where the application's webhooks live: `${webhookBaseUrl}/webhooks/inbound` etc. */
  webhookBaseUrl: string;
  /** Sign webhooks as Vonage does (HS256 JWT with payload_hash) when the account has a signature secret. */
  signatureSecret?: string | undefined;
  /** The business's sender id per channel: where a phone's messages go. */
  businessNumbers: Record<SimChannel, string>;
  logger?: FastifyBaseLogger;
}

export interface Simulator {
  app: FastifyInstance;
  store: SimulatorStore;
}

const channelParam = z.enum(SIM_CHANNELS);
const apiChannelParam = z.enum(API_CHANNELS as [ApiChannel, ...ApiChannel[]]);
const phoneParams = z.object({ channel: channelParam, number: z.string().regex(/^\d{5,32}$/, 'digits only') });

export function buildSimulator(options: SimulatorOptions): Simulator {
  const store = new SimulatorStore();
  const common = { bodyLimit: 256 * 1024, logController: new LogController({ disableRequestLogging: true }) };
  const app: FastifyInstance = options.logger
    ? Fastify({ ...common, loggerInstance: options.logger })
    : Fastify({ ...common, logger: false });

  // Vonage answers a body that is not JSON with its own 422, not a generic 400.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      (err as Error & { statusCode?: number; invalidJson?: boolean }).invalidJson = true;
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number; invalidJson?: boolean }, _req, reply) => {
    if (err.invalidJson) return sendProblem(reply, 'invalidJson', { detail: err.message });
    return reply.code(err.statusCode ?? 500).send({ error: err.message });
  });

  app.post('/v1/messages', async (req, reply) => {
    const reason = await checkAuthorization(req.headers.authorization, options.credentials);
    if (reason) return sendProblem(reply, 'unauthorized', { detail: reason });
    const result = validateRequest(req.body);
    if (!result.ok) return sendProblem(reply, 'invalidParams', { invalid_parameters: result.invalid });
    const body = result.body;
    const messageUuid = randomUUID();
    store.accept({
      messageUuid,
      acceptedAt: new Date().toISOString(),
      channel: body.channel,
      to: body.to,
      from: body.from,
      display: displayText(body),
      request: body,
    });
    return reply.code(202).send({ message_uuid: messageUuid });
  });

  const listQuery = z.object({
    channel: apiChannelParam.optional(),
    to: z.string().optional(),
    since: z.coerce.number().optional(),
    limit: z.coerce.number().int().min(1).max(100_000).default(1000),
  });
  app.get('/_sim/messages', async (req, reply) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: z.prettifyError(q.error) });
    const all = store.messages(q.data);
    return { total: all.length, acceptedTotal: store.acceptedTotal, messages: all.slice(-q.data.limit) };
  });
  app.delete('/_sim/messages', async (_req, reply) => {
    store.reset();
    return reply.code(204).send();
  });

  app.get('/_sim/phones', async () => ({ phones: store.phones() }));
  app.get('/_sim/phones/:channel/:number', async (req, reply) => {
    const p = phoneParams.safeParse(req.params);
    if (!p.success) return reply.code(400).send({ error: z.prettifyError(p.error) });
    return { channel: p.data.channel, number: p.data.number, conversation: store.conversation(p.data.channel, p.data.number) };
  });

  const sendBody = z.object({ text: z.string().min(1).max(1600) });
  app.post('/_sim/phones/:channel/:number/send', async (req, reply) => {
    const p = phoneParams.safeParse(req.params);
    const b = sendBody.safeParse(req.body);
    if (!p.success || !b.success) {
      return reply.code(400).send({ error: z.prettifyError((p.error ?? b.error)!) });
    }
    const { channel, number } = p.data;
    const body = inboundWebhookBody({ channel, from: number, to: options.businessNumbers[channel], text: b.data.text });
    const messageUuid = body.message_uuid as string;
    store.recordInbound(channel, number, { at: body.timestamp as string, text: b.data.text, messageUuid });
    let webhookStatus: number | string;
    try {
      const raw = JSON.stringify(body);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (options.signatureSecret) {
        headers.authorization = await signMessagesWebhook({
          rawBody: raw,
          secret: options.signatureSecret,
          applicationId: options.credentials.application?.id,
          apiKey: options.credentials.basic?.apiKey,
        });
      }
      const res = await fetch(`${options.webhookBaseUrl}/webhooks/inbound`, {
        method: 'POST',
        headers,
        body: raw,
        signal: AbortSignal.timeout(5000),
      });
      webhookStatus = res.status;
    } catch (err) {
      webhookStatus = `unreachable: ${(err as Error).message}`;
    }
    return reply.code(202).send({ message_uuid: messageUuid, webhook: webhookStatus });
  });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(phonePage(options.businessNumbers)));
  app.get('/healthz', async () => ({ ok: true }));

  return { app, store };
}
