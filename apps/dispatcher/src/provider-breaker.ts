/**
 * Tells a provider outage from one message's trouble, per channel and per process. A 5xx or a
 * send with no answer normally spends one of the job's attempts (and backs off); but when several
 * sends in a row fail so, the provider looks down, and spending attempts would only fail jobs that
 * a working provider would take. Then the channel's queue rests instead, without spending
 * attempts, for a time that doubles up to `maxMs`: the probes stay few, and delivery resumes
 * within `maxMs` of the provider's return. Any answer from the provider (a success, a 4xx) closes it.
 */
export class ProviderBreaker {
  readonly #threshold: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  #failures = 0;

  constructor(opts: { threshold?: number; baseMs?: number; maxMs?: number } = {}) {
    this.#threshold = opts.threshold ?? 3;
    this.#baseMs = opts.baseMs ?? 250;
    this.#maxMs = opts.maxMs ?? 5000;
  }

  /** The provider answered. True when this ends a rest (for a log line). */
  answered(): boolean {
    const wasOpen = this.open;
    this.#failures = 0;
    return wasOpen;
  }

  /** A send failed for want of the provider: how long the queue should rest, or undefined while it does not look down yet. */
  failed(): number | undefined {
    this.#failures++;
    if (this.#failures < this.#threshold) return undefined;
    return Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(this.#failures - this.#threshold, 20));
  }

  get open(): boolean {
    return this.#failures >= this.#threshold;
  }
}
