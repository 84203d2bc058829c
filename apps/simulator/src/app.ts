import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { checkAuthorization } from './auth.ts';
import { createContext, type SimContext, type SimulatorOptions } from './context.ts';
import { guardControl } from './control-access.ts';
import { controlRoutes } from './control.ts';
import { phonePage } from './phone-page.ts';
import { phoneRoutes } from './phones.ts';
import { sendProblem } from './problems.ts';
import { validateRequest, type AcceptedRequest } from './request-schema.ts';
import { expiresOnTheWay, failedOver, planStatuses, runStatuses, type StatusDeps, type StatusStep } from './status-webhooks.ts';
import { displayText, type AcceptedMessage, type SimulatorStore } from './store.ts';
import { webhookTargets } from './webhook-targets.ts';
import { needsWhatsAppWindow } from './whatsapp-window.ts';

export type { SimulatorOptions } from './context.ts';

export interface Simulator {
  app: FastifyInstance;
  store: SimulatorStore;
  /** Its state beyond the store: limits, windows, faults, webhooks, counters. */
  ctx: SimContext;
  /** What DELETE /_sim/messages does: forget everything but the settings and faults. */
  reset(): void;
}

export function buildSimulator(options: SimulatorOptions): Simulator {
  const ctx = createContext(options);
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
  app.addHook('onClose', async () => ctx.sender.close());

  const statusDeps: StatusDeps = {
    settings: () => ctx.settings.statusWebhooks,
    sender: ctx.sender,
    statusUrl: `${options.webhookBaseUrl}/webhooks/status`,
    now: ctx.now,
    sign: ctx.sign,
    counts: ctx.statusCounts,
  };

  const webhookTarget = webhookTargets(options.webhookBaseUrl, options.webhookAllow);

  // A provider counts a request when it arrives, not when it is done checking it: stamped before
  // the body is read, the token checked or any injected latency, so the limiter sees what Vonage's would.
  const arrivals = new WeakMap<object, number>();
  app.addHook('onRequest', async (req) => {
    if (req.url === '/v1/messages') arrivals.set(req, ctx.now());
  });

  // The hot path: no logging, a cached token check, one validation, rate accounting over a second or two of arrivals.
  app.post('/v1/messages', async (req, reply) => {
    const arrivedAt = arrivals.get(req) ?? ctx.now();
    if (await ctx.faults.intercept(req, reply)) return reply;
    const reason = await checkAuthorization(req.headers.authorization, options.credentials, ctx.tokens);
    if (reason) return sendProblem(reply, 'unauthorized', { detail: reason });
    const result = validateRequest(req.body);
    if (!result.ok) return sendProblem(reply, 'invalidParams', { invalid_parameters: result.invalid });
    const body = result.body;
    const elsewhere = body.webhook_url === undefined ? undefined : webhookTarget(body.webhook_url);
    if (elsewhere) return sendProblem(reply, 'invalidParams', { invalid_parameters: [{ name: 'webhook_url', reason: elsewhere }] });
    const at = ctx.now();
    const slot = ctx.limiter.tryAcquire(body.channel, arrivedAt);
    if (!slot.ok) {
      reply.header('retry-after', String(Math.ceil(slot.retryAfterMs / 1000)));
      return sendProblem(reply, 'throttled');
    }
    const legs = [body, ...result.failover];
    const workflowId = legs.length > 1 ? randomUUID().replace(/-/g, '') : undefined;
    const first = dispatch(legs, 0, workflowId, at, arrivedAt);
    return reply.code(202).send({ message_uuid: first.messageUuid, ...(workflowId && { workflow_id: workflowId }) });
  });

  /**
   * Accepts one message of a request and plays its statuses. With `failover`, Vonage sends the next
   * message itself, without another request, once this one is rejected or undeliverable: each has
   * its own message_uuid and statuses, and every status names the workflow and its place in it.
   */
  function dispatch(legs: AcceptedRequest[], i: number, workflowId: string | undefined, at: number, arrivedAt: number): AcceptedMessage {
    const body = legs[i]!;
    const windowOpen = !ctx.settings.whatsappWindow || !needsWhatsAppWindow(body) || ctx.windows.isOpen(body.to, at);
    const reachesPhone = windowOpen && !expiresOnTheWay(body, ctx.settings.statusWebhooks);
    const message: AcceptedMessage = {
      messageUuid: randomUUID(),
      acceptedAt: new Date(at).toISOString(),
      arrivedAt: new Date(arrivedAt).toISOString(),
      channel: body.channel,
      to: body.to,
      from: body.from,
      display: displayText(body),
      request: i === 0 && legs.length > 1 ? { ...body, failover: legs.slice(1) } : body,
      ...(workflowId && { workflow: { id: workflowId, item: i + 1, total: legs.length } }),
      ...(!reachesPhone && { refused: true }),
    };
    const entry = ctx.store.accept(message);
    const steps = planStatuses(message, ctx.settings.statusWebhooks, windowOpen, ctx.statusRandom);
    const next = i + 1 < legs.length ? (last: StatusStep | undefined) => {
      if (!failedOver(last)) return;
      const now = ctx.now();
      // Each leg counts against its own channel's rate, as Vonage counts it.
      ctx.limiter.count(legs[i + 1]!.channel, now);
      dispatch(legs, i + 1, workflowId, now, now);
    } : undefined;
    runStatuses(statusDeps, message, entry, steps, next);
    return message;
  }

  // One scope for everything under /_sim, so the guard covers each route however its URL is spelled.
  app.register(async (control) => {
    control.addHook('onRequest', guardControl(options.controlToken));
    await control.register(controlRoutes, { ctx });
    await control.register(phoneRoutes, { ctx });
  });

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(phonePage(options.businessNumbers)));
  app.get('/healthz', async () => ({ ok: true }));

  return { app, store: ctx.store, ctx, reset: () => ctx.reset() };
}
