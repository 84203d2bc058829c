/**
 * Signed webhook load for chaos scenarios: a list of Messages API webhooks, each signed as Vonage
 * signs it (HS256 JWT bearer with `payload_hash` and a fresh `jti`, so a resent body is a
 * duplicate, never a replay), fired by autocannon in list order, one answer recorded per item.
 */
import autocannon from 'autocannon';
import { signMessagesWebhook } from '@tickercast/messages-client';

export interface Webhook {
  path: '/webhooks/inbound' | '/webhooks/status';
  body: string;
}

export interface SignedWebhook extends Webhook {
  authorization: string;
}

export interface FireResult {
  /** The HTTP status each item got, by index; undefined when it got none (reset, timeout, never sent). */
  statuses: (number | undefined)[];
  /** Items answered `{"ok":true,"duplicate":true}`. */
  duplicateAnswers: number;
  result: autocannon.Result;
}

/** Signs every webhook; each signature is fresh (its own `jti` and `iat`), as Vonage re-signs each retry. */
export async function signAll(webhooks: Webhook[], secret: string): Promise<SignedWebhook[]> {
  const out: SignedWebhook[] = [];
  for (const w of webhooks) out.push({ ...w, authorization: await signMessagesWebhook({ rawBody: w.body, secret, apiKey: 'chaos', applicationId: 'chaos' }) });
  return out;
}

/**
 * POSTs each item once, in order, over `connections` keep-alive connections. autocannon calls
 * `setupRequest` once per request it sends (`amount` = the list's length); with pipelining 1 a
 * connection has one request in flight, so the per-connection context ties an answer to its item.
 */
export async function fire(url: string, items: SignedWebhook[], connections = 10): Promise<FireResult> {
  const statuses: (number | undefined)[] = Array.from({ length: items.length }, () => undefined);
  let next = 0;
  let duplicateAnswers = 0;
  const result = await autocannon({
    url,
    connections: Math.max(1, Math.min(connections, items.length)),
    amount: items.length,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        setupRequest(req, context) {
          const i = next++;
          const item = items[i];
          // Past the end (autocannon asking once too often): a harmless probe, not counted.
          if (!item) return { ...req, method: 'GET', path: '/healthz', body: undefined, headers: {} };
          (context as { item?: number }).item = i;
          return {
            ...req,
            method: 'POST',
            path: item.path,
            body: item.body,
            headers: { 'content-type': 'application/json', authorization: item.authorization },
          };
        },
        onResponse(status, body, context) {
          const i = (context as { item?: number }).item;
          if (i === undefined) return;
          statuses[i] = status;
          if (body.includes('"duplicate":true')) duplicateAnswers++;
        },
      },
    ],
  });
  return { statuses, duplicateAnswers, result };
}

/** A small summary of autocannon's figures (latency in ms). */
export function loadFigures(r: autocannon.Result): Record<string, number> {
  return {
    requests: r.requests.total,
    durationS: r.duration,
    // Over the whole run: autocannon's per-second samples say little about a run of a few seconds.
    requestsPerSec: Math.round(r.requests.total / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    '5xx': r['5xx'],
    errors: r.errors,
    timeouts: r.timeouts,
  };
}
