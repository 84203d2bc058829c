import type { DashboardSnapshot } from './snapshot.ts';

/** Redis did not give a snapshot: it refused (`reason`), or has not answered for a while. */
export interface Unavailable {
  /** Since when no snapshot came (ms): the time of the last good one, or of the first failed poll. */
  since: number;
  reason: string;
}

export type DashboardUpdate = { snapshot: DashboardSnapshot } | { unavailable: Unavailable };

type Listener = (update: DashboardUpdate) => void;

/**
 * One poll of Redis per interval, shared by every open dashboard, and none while nobody
 * watches: N browsers cost the same as one.
 *
 * A poll that fails, or has not answered after `unavailableAfterMs` (the connection queues
 * commands while it reconnects, so an unreachable Redis is a wait rather than an error), tells
 * the listeners Redis is unavailable; the next snapshot tells them it is back. No poll starts
 * while one is still waiting, so an outage does not pile up commands.
 */
export class SnapshotBroadcaster {
  readonly #take: () => Promise<DashboardSnapshot>;
  readonly #intervalMs: number;
  readonly #unavailableAfterMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<Listener>();
  #timer: NodeJS.Timeout | undefined;
  #last: DashboardUpdate | undefined;
  #lastGoodAt: number | undefined;
  /** When the poll in flight started. */
  #pendingSince: number | undefined;

  constructor(take: () => Promise<DashboardSnapshot>, intervalMs: number, onError: (err: unknown) => void, unavailableAfterMs = Math.max(3000, 3 * intervalMs)) {
    this.#take = take;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
    this.#unavailableAfterMs = unavailableAfterMs;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#last) listener(this.#last);
    if (!this.#timer) {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#last = undefined;
  }

  #tick(): void {
    const now = Date.now();
    if (this.#pendingSince === undefined) {
      void this.#poll(now);
      return;
    }
    if (now - this.#pendingSince >= this.#unavailableAfterMs && !(this.#last && 'unavailable' in this.#last)) {
      this.#publish({ unavailable: { since: this.#lastGoodAt ?? this.#pendingSince, reason: `Redis has not answered for ${Math.round((now - this.#pendingSince) / 1000)} s` } });
    }
  }

  async #poll(startedAt: number): Promise<void> {
    this.#pendingSince = startedAt;
    try {
      const snapshot = await this.#take();
      this.#lastGoodAt = snapshot.at;
      if (this.#timer) this.#publish({ snapshot });
    } catch (err) {
      this.#onError(err);
      const since = this.#last && 'unavailable' in this.#last ? this.#last.unavailable.since : (this.#lastGoodAt ?? startedAt);
      if (this.#timer) this.#publish({ unavailable: { since, reason: err instanceof Error ? err.message : String(err) } });
    } finally {
      this.#pendingSince = undefined;
    }
  }

  #publish(update: DashboardUpdate): void {
    this.#last = update;
    for (const l of this.#listeners) l(update);
  }
}
