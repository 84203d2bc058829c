import type { Channel } from '../channels.ts';
import type { FeedMark } from './feed-floor.ts';
import type { SendWindow } from './send-window.ts';

/**
 * How late a send may reach the provider after its slot and still be counted in the right second
 * (event-loop pauses, the request's own way there): the spacing leaves this much slack, 98.5% of
 * the rate. It keeps sends smooth; it does not bound a request's way there, which on a busy
 * machine now and then took longer than the 35 ms kept before and let 21 requests into a rolling
 * second at 20/s. What bounds that is SendWindow (send-window.ts): a send starts only once the
 * send `rate` before it has been answered for a second. With this slack the window holds a send
 * back only when an answer took longer than 15 ms.
 */
export const RATE_JITTER_MS = 15;

/**
 * How late past its slot a send may still start. Later, it would bunch with the sends of the
 * next slots (which SendWindow would then hold back): it takes a new slot instead.
 */
const LATE_MS = 20;

/**
 * A channel whose last slot came within this is not behind its schedule: a send there may take
 * its slot before it knows it goes (SendPacer.early), as one skipped after all then wastes a slot
 * nobody was waiting for.
 */
const SPARE_WITHIN_MS = 20;

/**
 * The spacing of a channel's sends. The provider counts any rolling second, so no 1000 ms may
 * hold more than `rate` arrivals, even with each one up to `jitterMs` late: sends `s` apart put
 * ⌊(1000 + jitter) / s⌋ + 1 in the worst second, which stays within the rate when
 * s > (1000 + jitter) / rate. At 30/s that is one send per 33.8 ms, 98.5% of the rate.
 */
export function sendSpacingMs(ratePerSec: number, jitterMs = RATE_JITTER_MS): number {
  return (1000 + jitterMs) / ratePerSec + 1e-6;
}

/**
 * Paces each channel's sends on one schedule in Redis that every dispatcher shares: a send takes
 * the next slot, `sendSpacingMs` after the previous one, and waits for it. Slots are fixed on the
 * clock, so a send that starts late does not push the ones after it back, and the achieved rate
 * stays at the spacing's (unlike a limiter window, which starts only when a worker comes back
 * for it). A slot comes with a place in the channel's SendWindow, or is not given. A send whose
 * slot is further off than the horizon (or has no place yet) takes none and is handed back to the
 * queue (`reserve` answers with a negative wait), so no more than a horizon's worth of sends waits
 * in a process, and a reply added meanwhile still goes next.
 */
export class SendPacer {
  readonly #window: SendWindow;
  readonly #spacing: Record<Channel, number>;
  /** Per channel, whether this process's last reservation found its slot within SPARE_WITHIN_MS: slots are not scarce. */
  readonly #free = new Map<Channel, boolean>();

  constructor(window: SendWindow, rates: Record<Channel, number>) {
    this.#window = window;
    this.#spacing = Object.fromEntries(Object.entries(rates).map(([c, rate]) => [c, sendSpacingMs(rate)])) as Record<Channel, number>;
  }

  /**
   * The slot of a send that has yet to read whether it goes: taken now, beside those reads (a
   * round trip less on its way to the provider), when the channel's last slot came within
   * SPARE_WITHIN_MS; else undefined, and the send takes its slot once it knows it goes
   * (`waitForSlot`), as one skipped after all would waste a slot the channel is short of. Give its
   * place back with `SendWindow.release` after `EarlySlot.settled`.
   */
  early(channel: Channel, sendId: string, mark?: FeedMark): EarlySlot | undefined {
    if (this.#free.get(channel) === false) return undefined;
    return new EarlySlot(this, channel, sendId, mark);
  }

  /** The furthest a slot may be and still be taken: two sends, and never under 100 ms. */
  horizonMs(channel: Channel): number {
    return Math.max(100, 2 * this.#spacing[channel]);
  }

  /**
   * Waits for the slot of the send `sendId` (give its place back with `SendWindow.release` once
   * answered). A slot missed by more than `LATE_MS` (the process was busy when it came: a
   * fan-out's adds, a GC pause) is let go and a new one taken. Resolves with how long it waited
   * for its slots (not counting the reservations' round trips: a slot free at once is no wait), or
   * with how long to rest when no slot is within reach. `first`: a reservation already asked for
   * (EarlySlot), waited for from now.
   */
  async waitForSlot(channel: Channel, sendId: string, mark?: FeedMark, first?: Promise<Reservation>): Promise<{ waitedMs: number } | { restMs: number }> {
    let waitedMs = 0;
    for (let reservation = first ?? this.#reserveNow(channel, sendId, mark); ; reservation = this.#reserveNow(channel, sendId, mark)) {
      const { wait, at } = await reservation;
      if (wait < 0) return { restMs: Math.ceil(-wait) };
      const slotAt = at + wait;
      const from = performance.now();
      if (slotAt > from) await untilTime(slotAt);
      waitedMs += performance.now() - from;
      if (performance.now() - slotAt <= LATE_MS) return { waitedMs };
    }
  }

  /** ≥ 0: a slot (and its place) is taken, this many ms from now. < 0: none taken; try again in -answer ms. */
  async reserve(channel: Channel, sendId: string, mark?: FeedMark): Promise<number> {
    const wait = await this.#window.reserve(channel, sendId, this.#spacing[channel], this.horizonMs(channel), mark);
    this.#free.set(channel, wait >= 0 && wait <= SPARE_WITHIN_MS);
    return wait;
  }

  /** `reserve`, with when its answer came (performance.now()): what the slot's time counts from. */
  async #reserveNow(channel: Channel, sendId: string, mark?: FeedMark): Promise<Reservation> {
    const wait = await this.reserve(channel, sendId, mark);
    return { wait, at: performance.now() };
  }
}

/** A reservation's answer (`SendPacer.reserve`) and when it came (performance.now()). */
export interface Reservation {
  wait: number;
  at: number;
}

/** A slot asked for ahead of the send's own reads (SendPacer.early). */
export class EarlySlot {
  readonly #pacer: SendPacer;
  readonly #channel: Channel;
  readonly #sendId: string;
  readonly #mark: FeedMark | undefined;
  readonly #reserved: Promise<Reservation>;

  constructor(pacer: SendPacer, channel: Channel, sendId: string, mark: FeedMark | undefined) {
    this.#pacer = pacer;
    this.#channel = channel;
    this.#sendId = sendId;
    this.#mark = mark;
    this.#reserved = pacer.reserve(channel, sendId, mark).then((wait) => ({ wait, at: performance.now() }));
    this.#reserved.catch(() => undefined); // awaited by `take`, or by `settled` for a send that did not go
  }

  /**
   * Waits for the slot as `SendPacer.waitForSlot` does, from this reservation: none given, the send
   * rests; ready more than LATE_MS after it, the send takes the next. `waitedMs` counts from now,
   * not from the reservation: what the send waited after its reads.
   */
  take(): Promise<{ waitedMs: number } | { restMs: number }> {
    return this.#pacer.waitForSlot(this.#channel, this.#sendId, this.#mark, this.#reserved);
  }

  /** Resolves once the reservation has answered, so that a place it took can be given back. */
  async settled(): Promise<void> {
    await this.#reserved.catch(() => undefined);
  }
}

/**
 * Resolves at `at` (performance.now() time): by a timer, or, when less than a millisecond is left
 * (a burst at a high rate), by the event loop's turns until then: a timer is never shorter than a
 * millisecond, and a send a fraction of one from its slot should not wait a whole one.
 */
async function untilTime(at: number): Promise<void> {
  const ms = at - performance.now();
  if (ms >= 1) await new Promise((r) => setTimeout(r, ms));
  else while (performance.now() < at) await new Promise((r) => setImmediate(r));
}

/**
 * The id under which a send's failover leg holds its place on the fallback channel: the provider
 * sends that leg itself, later, without a request of ours, so it is counted against the fallback
 * channel's schedule and window in advance, when the send takes its own slot, and its place is
 * given back with the send's (counted as arrived then).
 */
export function failoverLegId(sendId: string): string {
  return `${sendId}|failover`;
}

/**
 * BullMQ's limiter on a send queue: it no longer sets the pace (SendPacer does), it keeps workers
 * from taking jobs much faster than their slots come (a fifth over the rate, in 100 ms windows),
 * and it is what lets `Worker.rateLimit` pause the queue (after a 429, or a slot too far off).
 */
export function sendFetchLimiter(ratePerSec: number): { max: number; duration: number } {
  return { max: Math.max(1, Math.ceil(ratePerSec * 0.12)), duration: 100 };
}
