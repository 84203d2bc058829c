import type { DashboardSnapshot } from './snapshot.ts';

type Listener = (snapshot: DashboardSnapshot) => void;

/**
 * One poll of Redis per interval, shared by every open dashboard, and none while nobody
 * watches: N browsers cost the same as one.
 */
export class SnapshotBroadcaster {
  readonly #take: () => Promise<DashboardSnapshot>;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<Listener>();
  #timer: NodeJS.Timeout | undefined;
  #last: DashboardSnapshot | undefined;

  constructor(take: () => Promise<DashboardSnapshot>, intervalMs: number, onError: (err: unknown) => void) {
    this.#take = take;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#last) listener(this.#last);
    if (!this.#timer) {
      void this.#poll();
      this.#timer = setInterval(() => void this.#poll(), this.#intervalMs);
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

  async #poll(): Promise<void> {
    try {
      const snapshot = await this.#take();
      this.#last = snapshot;
      for (const l of this.#listeners) l(snapshot);
    } catch (err) {
      this.#onError(err);
    }
  }
}
