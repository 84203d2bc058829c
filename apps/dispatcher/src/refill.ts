import {
  type AlertStore,
  CHANNELS,
  feedSend,
  releaseLease,
  takeLease,
  type Channel,
  type DueIndex,
  type Logger,
  type PriceCache,
  type Queues,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';

export interface RefillOptions {
  redis: RedisClient;
  keys: RedisKeys;
  due: DueIndex;
  /** Price alerts: checked against the prices before each refill, and their fired ones served first. */
  alerts?: AlertStore;
  prices: PriceCache;
  queues: Queues;
  /** Sends per second per channel: what the queue is kept topped up for. */
  rates: Record<Channel, number>;
  logger: Logger;
  /** Seconds of the channel's rate kept waiting in its queue (the watermark). */
  aheadS?: number;
  /** How often each channel is refilled even when nothing wakes it: held subscribers whose EVERY or quiet hours ended, a missed wake. */
  safetyMs?: number;
  /** The clock holds are read and claims made by: the send's (SendDeps.now), which tests set. */
  now?: () => number;
}

/** The fewest feed sends a watermark allows, so a slow channel still has something in hand. */
const MIN_WATERMARK = 10;
/** The most feed sends one refill adds: past it, the next refill follows at once. Bounds one script's work. */
const MAX_BATCH = 2000;
/** How long one dispatcher may hold a channel's refill; a crashed holder frees it after this. */
const LOCK_MS = 5000;
/**
 * How long a claimed subscriber stays out of the rotation if their feed send never settles them
 * (a crash between claim and add, a job lost for good); a send that waits longer (the provider
 * down) is found again, and its deduplication adds nothing.
 */
const CLAIM_MS = 60_000;
/** How soon to try again when another dispatcher is refilling the channel. */
const BUSY_RETRY_MS = 100;
/** How soon after a feed send settles the refill runs: every send settling meanwhile shares it. */
const SETTLED_REFILL_MS = 20;

interface ChannelState {
  /** The prices' write times this process last checked the channel's alerts at: unchanged, there is nothing new to check. */
  alertsCheckedAt: string;
  running: Promise<void> | undefined;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /**
   * The last refill took everyone due it found (fewer than it wanted): the next one claims in the
   * due index's own scan, a round trip less, as there is likely nobody due to leave out. After one
   * that filled up (a backlog: more due than the queue takes) it reads, then claims exactly.
   */
  tookAll: boolean;
}

/**
 * Keeps each channel's send queue topped up with feed sends, from the subscribers who are due, at
 * the rate the channel can take: work follows what can be delivered, not ticks × subscribers.
 *
 * A refill reads the channel's backlog of feed sends, takes (watermark − backlog) due subscribers
 * from the due index, longest-waiting first, adds one feed send each (deduplicated per
 * subscriber), having claimed them until their send settles them. It runs when a tick wakes it, when
 * the backlog it left should be down to half the watermark, and every `safetyMs`. One dispatcher at
 * a time refills a channel (a lock with a short TTL); any of them may.
 */
export class Refiller {
  readonly #o: RefillOptions;
  readonly #state: Record<Channel, ChannelState>;
  #safety: NodeJS.Timeout | undefined;
  /** Whether refills run by themselves (after `start`, until `stop`). */
  #started = false;
  #closed = false;
  /** The prices read for the refills begun in this turn of the event loop (see `#latest`). */
  #latestThisTurn: ReturnType<PriceCache['latest']> | undefined;

  constructor(options: RefillOptions) {
    this.#o = options;
    this.#state = Object.fromEntries(CHANNELS.map((c) => [c, { alertsCheckedAt: '', running: undefined, again: false, timer: undefined, timerAt: 0, tookAll: true }])) as Record<Channel, ChannelState>;
  }

  /** Feed sends kept waiting in a channel's queue. */
  watermark(channel: Channel): number {
    return Math.max(MIN_WATERMARK, Math.ceil(this.#o.rates[channel] * (this.#o.aheadS ?? 2)));
  }

  /** Whether refills run by themselves (after `start`, until `stop`). */
  get started(): boolean {
    return this.#started;
  }

  /** Starts the periodic refill of every channel. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#safety = setInterval(() => void this.wake(), this.#o.safetyMs ?? 1000);
    this.#safety.unref();
    void this.wake();
  }

  /** Refills every channel now (a tick): resolves when the refills asked for have run. */
  async wake(): Promise<void> {
    await Promise.all(CHANNELS.map((c) => this.request(c)));
  }

  /** Refills one channel; a request while one runs makes it run once more after. */
  request(channel: Channel): Promise<void> {
    const st = this.#state[channel];
    if (this.#closed) return Promise.resolve();
    if (st.running) {
      st.again = true;
      return st.running;
    }
    st.running = (async () => {
      do {
        st.again = false;
        await this.#refill(channel);
      } while (st.again && !this.#closed);
    })().finally(() => {
      st.running = undefined;
    });
    return st.running;
  }

  /** Stops the refills that run by themselves (timers), and waits for one in progress; `request` still runs one. */
  async stop(): Promise<void> {
    this.#started = false;
    clearInterval(this.#safety);
    this.#safety = undefined;
    for (const st of Object.values(this.#state)) {
      clearTimeout(st.timer);
      st.timer = undefined;
    }
    await Promise.all(Object.values(this.#state).map((st) => st.running));
  }

  /** Stops refilling for good and waits for a refill in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  /**
   * A feed send settled: someone it held may be due again (a price written while their send was
   * in flight). A refill soon, shared by every send that settles meanwhile, rather than on the next
   * tick or safety wake: that would hold them back a tick or a second.
   */
  settled(channel: Channel): void {
    this.#later(channel, SETTLED_REFILL_MS);
  }

  #later(channel: Channel, ms: number): void {
    const st = this.#state[channel];
    const at = Date.now() + ms;
    if (!this.#started || (st.timer && st.timerAt <= at)) return;
    clearTimeout(st.timer);
    st.timerAt = at;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      void this.request(channel);
    }, ms);
    st.timer.unref();
  }

  async #refill(channel: Channel): Promise<void> {
    const { redis, keys, due, queues, rates, logger } = this.#o;
    // The lease and the reads at once, the lease asked first: on one connection Redis reads the
    // backlog after it granted the lease; a refill that does not get it drops what it read.
    const lease = takeLease(redis, keys.refillLock(channel), LOCK_MS);
    const reads = Promise.all([this.#backlog(channel), this.#latest()]);
    reads.catch(() => undefined); // awaited only with the lease; a failure then is logged below
    let token: string | undefined;
    try {
      token = await lease;
      if (!token) {
        this.#later(channel, BUSY_RETRY_MS);
        return;
      }
    } catch (err) {
      logger.warn({ err, channel }, 'refill skipped: Redis did not answer; the next one will try again');
      return;
    }
    try {
      const [backlog, { written, prices: latest }] = await reads;
      const watermark = this.watermark(channel);
      const need = Math.min(MAX_BATCH, watermark - backlog);
      const now = this.#o.now?.() ?? Date.now();
      // Claimed before they are added: a send that runs at once settles its subscriber after the
      // claim, never before it. A crash in between leaves them held until CLAIM_MS runs out.
      const until = now + CLAIM_MS;
      const st = this.#state[channel];
      const claimedInScan = st.tookAll;
      // The alerts checked and their fired ones read beside the plain due ones: fired alerts go
      // first (a crossing is news, a plain update is replaced by a fresher one anyway).
      const [alerted, found] = await Promise.all([this.#alerted(channel, written, latest, need, now), need > 0 ? due.dueOn(channel, written, need, now, claimedInScan ? until : 0) : []]);
      const fed = found.map((f) => f.id);
      const dueOn = new Map(found.map((f) => [f.id, f.symbols]));
      const ids = [...new Set([...alerted, ...fed])].slice(0, Math.max(0, need));
      st.tookAll = ids.length < need;
      const taken = new Set(ids);
      // Everyone taken is held on their plain symbols too, alerted or not: an alerted follower left
      // free there would be found due by the next refill while this send is still queued. Those the
      // scan claimed but the alerts left no room for are let go.
      const claimed = new Set(claimedInScan ? fed : []);
      const toClaim = ids.filter((id) => !claimed.has(id));
      const letGo = fed.filter((id) => claimed.has(id) && !taken.has(id));
      const alertedTaken = alerted.filter((id) => taken.has(id));
      await Promise.all([
        toClaim.length > 0 ? due.claim(toClaim, written.keys(), until) : undefined,
        letGo.length > 0 ? due.settle(letGo, written.keys(), 0) : undefined,
        alertedTaken.length > 0 ? this.#o.alerts?.claim(alertedTaken, until) : undefined,
      ]);
      if (ids.length === 0) return;
      await queues.addSends(ids.map((id) => feedSend(id, dueOn.get(id))));
      if (ids.length < need) return;
      // More may be due: come back when the queue is down to half the watermark.
      const ahead = backlog + ids.length - watermark / 2;
      this.#later(channel, Math.max(0, Math.round((ahead / rates[channel]) * 1000)));
    } catch (err) {
      logger.warn({ err, channel }, 'refill failed; the next one will try again');
    } finally {
      await releaseLease(redis, keys.refillLock(channel), token).catch(() => undefined);
    }
  }

  /**
   * The prices and their write times, read once for every refill begun in the same turn of the
   * event loop (a wake begins one per channel): each would read the same. A refill begun later
   * reads anew, so none uses a read sent before the tick that woke it.
   */
  #latest(): ReturnType<PriceCache['latest']> {
    if (!this.#latestThisTurn) {
      this.#latestThisTurn = this.#o.prices.latest();
      queueMicrotask(() => {
        this.#latestThisTurn = undefined;
      });
    }
    return this.#latestThisTurn;
  }

  /** Feed sends waiting in a channel's queues. */
  async #backlog(channel: Channel): Promise<number> {
    const counts = await Promise.all(this.#o.queues.sendQueues[channel].map((q) => q.getPrioritizedCount()));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * The `need` subscribers of the channel whose alert fired longest ago, its alerts first fired by
   * the prices they crossed (in the same scripts), once per new set of prices: a write time is
   * unique to its write, so unchanged write times mean every price was checked already (by this
   * process; another's check moved the checked prices on, which the next one starts from).
   */
  async #alerted(channel: Channel, written: ReadonlyMap<string, string>, latest: ReadonlyMap<string, number>, need: number, now: number): Promise<string[]> {
    const { alerts } = this.#o;
    if (!alerts) return [];
    const st = this.#state[channel];
    const at = [...written].map(([s, t]) => `${s}@${t}`).join(' ');
    if (at === st.alertsCheckedAt) return alerts.due(channel, need, now);
    const ids = await alerts.checkThenDue(channel, latest, need, now);
    st.alertsCheckedAt = at;
    return ids;
  }
}
