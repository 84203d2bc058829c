/** What the ingress adds to Fastify's request and route config. */

/** How a webhook ended, as /metrics counts it. */
export type WebhookOutcome = 'accepted' | 'duplicate' | 'invalid' | 'unauthorized' | 'error';

/**
 * Runs Redis work for a webhook within its deadline (withinDeadline): a RedisUnavailableError
 * when Redis is away, which the app answers with 503 so that the provider retries.
 */
export type RedisDeadline = <T>(work: () => Promise<T>) => Promise<T>;

/** The two webhook families, each with its own signature scheme. */
export type WebhookKind = 'messages' | 'sms';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body exactly as received: what a Messages API `payload_hash` covers. */
    rawBody?: string;
    /** Set by the handler (accepted or duplicate) or the signature check (unauthorized). */
    webhookOutcome?: WebhookOutcome;
    /** The replay-guard claim this request made (its key and own value); released when we fail it (5xx) so that a retry may pass. */
    replay?: { key: string; claim: string };
  }
  interface FastifyContextConfig {
    /** Marks a webhook route: its signature scheme, and counted in /metrics. */
    webhook?: WebhookKind;
  }
}
