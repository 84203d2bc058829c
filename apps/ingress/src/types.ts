/** What the ingress adds to Fastify's request and route config. */

/** How a webhook ended, as /metrics counts it. */
export type WebhookOutcome = 'accepted' | 'duplicate' | 'invalid' | 'unauthorized' | 'error';

/** The two webhook families, each with its own signature scheme. */
export type WebhookKind = 'messages' | 'sms';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body exactly as received: what a Messages API `payload_hash` covers. */
    rawBody?: string;
    /** Set by the handler (accepted or duplicate) or the signature check (unauthorized). */
    webhookOutcome?: WebhookOutcome;
    /** The replay-guard key this request claimed; released when we fail it (5xx) so that a retry may pass. */
    replayKey?: string;
  }
  interface FastifyContextConfig {
    /** Marks a webhook route: its signature scheme, and counted in /metrics. */
    webhook?: WebhookKind;
  }
}
