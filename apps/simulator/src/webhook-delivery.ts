/*
 * Posting webhooks to the application as Vonage does: anything but a 200 or 204 (or no answer)
 * is tried again later, at doubling intervals from a small base, a bounded number of times
 * (Vonage keeps going for 24 hours; a simulator gives up sooner). Counted per kind.
 */

export type WebhookKind = 'status' | 'inbound' | 'inbound-sms';
export const WEBHOOK_KINDS: readonly WebhookKind[] = ['status', 'inbound', 'inbound-sms'];

export interface OutgoingRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface DeliveryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** The delay before the first retry; each later one doubles it (capped at 15 minutes). */
  retryBaseMs: number;
  /** How long one attempt may take. */
  timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { retries: 5, retryBaseMs: 500, timeoutMs: 5000 };
const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;
const LOG_SIZE = 500;

export interface WebhookCounters {
  /** Requests made, first tries and retries. */
  attempts: number;
  /** Webhooks the application took (200 or 204). */
  delivered: number;
  /** Attempts that were retries. */
  retries: number;
  /** Webhooks given up on after the last retry. */
  failed: number;
  /** Webhooks not yet delivered or given up on. */
  pending: number;
}

export interface DeliveryRecord {
  kind: WebhookKind;
  url: string;
  attempt: number;
  /** The HTTP status, or why there was none. */
  outcome: number | string;
  at: string;
  body: string | undefined;
}

const accepted = (outcome: number | string) => outcome === 200 || outcome === 204;

export class WebhookSender {
  readonly #policy: () => DeliveryPolicy;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = new AbortController();
  #counters = freshCounters();
  #log: DeliveryRecord[] = [];

  constructor(policy: () => DeliveryPolicy) {
    this.#policy = policy;
  }

  /**
   * Makes the first attempt and answers its outcome; retries, if needed, happen in the background.
   * `prepare` is called per attempt, so signatures are fresh each time.
   */
  async deliver(kind: WebhookKind, prepare: () => OutgoingRequest | Promise<OutgoingRequest>): Promise<number | string> {
    const counters = this.#counters[kind];
    counters.pending++;
    return this.#attempt(kind, prepare, 1, this.#counters);
  }

  async #attempt(kind: WebhookKind, prepare: () => OutgoingRequest | Promise<OutgoingRequest>, attempt: number, generation: Record<WebhookKind, WebhookCounters>): Promise<number | string> {
    const counters = generation[kind];
    counters.attempts++;
    if (attempt > 1) counters.retries++;
    let outcome: number | string;
    let request: OutgoingRequest | undefined;
    try {
      request = await prepare();
      const res = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined && { body: request.body }),
        signal: AbortSignal.any([this.#closed.signal, AbortSignal.timeout(this.#policy().timeoutMs)]),
      });
      outcome = res.status;
      await res.body?.cancel();
    } catch (err) {
      outcome = `unreachable: ${describe(err)}`;
    }
    this.#record({ kind, url: request?.url ?? '?', attempt, outcome, at: new Date().toISOString(), body: request?.body });
    const policy = this.#policy();
    if (accepted(outcome)) {
      counters.delivered++;
      counters.pending--;
    } else if (attempt > policy.retries || this.#closed.signal.aborted) {
      counters.failed++;
      counters.pending--;
    } else {
      const delay = Math.min(policy.retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      this.#later(() => void this.#attempt(kind, prepare, attempt + 1, generation), delay);
    }
    return outcome;
  }

  /** Runs `fn` after `ms`, unless cancelled first: also used to pace the statuses of a message. */
  later(fn: () => void, ms: number): void {
    this.#later(fn, ms);
  }

  #later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  counters(): Record<WebhookKind, WebhookCounters> {
    return structuredClone(this.#counters);
  }

  /** The latest attempts, newest last. */
  recent(): DeliveryRecord[] {
    return this.#log.slice();
  }

  /** Drops every scheduled retry and status and zeroes the counters (requests in flight finish, uncounted). */
  reset(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#counters = freshCounters();
    this.#log = [];
  }

  /** For shutdown: also aborts the requests in flight. */
  close(): void {
    this.#closed.abort();
    this.reset();
  }

  #record(entry: DeliveryRecord): void {
    this.#log.push(entry);
    if (this.#log.length > LOG_SIZE * 2) this.#log = this.#log.slice(-LOG_SIZE);
  }
}

function freshCounters(): Record<WebhookKind, WebhookCounters> {
  return Object.fromEntries(WEBHOOK_KINDS.map((k) => [k, { attempts: 0, delivered: 0, retries: 0, failed: 0, pending: 0 }])) as Record<
    WebhookKind,
    WebhookCounters
  >;
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
