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
  type TickAnnouncement,
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
  /**
   * How often each channel is refilled even when nothing wakes it: held subscribers whose EVERY or
   * quiet hours ended, a missed wake, a first follower of a symbol on a channel a tick left out
   * (see `wake`). Also how long a read of who follows which symbol is trusted.
   */
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

/** The prices a refill works from: when each symbol's was written (what makes followers due), and the price (what alerts are checked against). */
type Prices = Awaited<ReturnType<PriceCache['latest']>>;

interface ChannelState {
  /** The prices' write times this process last checked the channel's alerts at: unchanged, there is nothing new to check. */
  alertsCheckedAt: string;
  running: Promise<void> | undefined;
  again: boolean;
  /** A tick announced with its prices asked for the next refill (see `#refill`). */
  announced: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /**
   * The last refill took everyone due it found (fewer than it wanted): the next one claims in the
   * due index's own scan, a round trip less, as there is likely nobody due to leave out. After one
   * that filled up (a backlog: more due than the queue takes) it reads, then claims exactly.
   */
  tookAll: boolean;
  /** Per symbol: whether anyone on the channel follows it or holds an alert on it, and when that was read (see `#nobodyFollows`). */
  followed: Map<string, { yes: boolean; at: number }>;
  /** A read of `followed` under way: one at a time. */
  readingFollowed: Promise<void> | undefined;
}

/**
 * Keeps each channel's send queue topped up with feed sends, from the subscribers who are due, at
 * the rate the channel can take: work follows what can be delivered, not ticks × subscribers.
 *
 * A refill reads the channel's backlog of feed sends, takes (watermark − backlog) due subscribers
 * from the due index, longest-waiting first, adds one feed send each (deduplicated per
 * subscriber), having claimed them until their send settles them. It runs when a tick wakes it (on
 * the channels where anyone follows what it moved), when the backlog it left should be down to half
 * the watermark, and every `safetyMs`. One dispatcher at a time refills a channel (a lock with a
 * short TTL); any of them may.
 */
export class Refiller {
  readonly #o: RefillOptions;
  readonly #state: Record<Channel, ChannelState>;
  #safety: NodeJS.Timeout | undefined;
  /** Whether refills run by themselves (after `start`, until `stop`). */
  #started = false;
  #closed = false;
  /** The prices read for the refills begun in this turn of the event loop (see `#latest`). */
  #latestThisTurn: Promise<Prices> | undefined;
  /** The newest prices this process knows of, each symbol's from its last read or announcement (see `#know`). */
  readonly #known: Prices = { written: new Map(), prices: new Map() };
  /** When (performance.now()) this process last learnt of a newer price: from an announcement, a read, or a tick that came without its prices. */
  #changedAt = -Infinity;

  constructor(options: RefillOptions) {
    this.#o = options;
    this.#state = Object.fromEntries(CHANNELS.map((c) => [c, { alertsCheckedAt: '', running: undefined, again: false, announced: false, timer: undefined, timerAt: 0, tookAll: true, followed: new Map(), readingFollowed: undefined }])) as Record<Channel, ChannelState>;
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
    this.#safety = setInterval(() => void this.wake(), this.#safetyMs);
    this.#safety.unref();
    void this.wake();
  }

  /**
   * Refills every channel now (a tick): resolves when the refills asked for have run. `ticks`: the
   * tick's announcement; when it carried every price it moved, the refills may start from them.
   */
  async wake(ticks?: TickAnnouncement): Promise<void> {
    const announced = ticks !== undefined && ticks.every((t) => t.price !== undefined && t.writtenAt !== undefined);
    if (announced) this.#know({ written: new Map(ticks.map((t) => [t.symbol, t.writtenAt!])), prices: new Map(ticks.map((t) => [t.symbol, t.price!])) });
    else if (ticks) this.#changedAt = performance.now(); // moved, at prices the refills read
    const moved = ticks?.map((t) => t.symbol);
    await Promise.all(CHANNELS.map((c) => (moved && this.#nobodyFollows(c, moved) ? undefined : this.request(c, announced))));
  }

  /**
   * Whether nobody on `channel` follows any of the symbols a tick moved, nor holds an alert on
   * one, as read less than a safety interval ago: the tick then has nothing to refill there (on a
   * small system most ticks would otherwise refill three channels for nothing, on the way to the
   * one that has sends). A symbol not read that recently is read now, for the ticks after, and
   * this tick refills as usual. Someone who starts following since the read is served by the
   * safety wake, which refills every channel: at most one safety interval later than the tick.
   */
  #nobodyFollows(channel: Channel, symbols: readonly string[]): boolean {
    const st = this.#state[channel];
    const now = Date.now();
    const stale = symbols.filter((s) => {
      const read = st.followed.get(s);
      return !read || now - read.at >= this.#safetyMs;
    });
    if (stale.length === 0) return symbols.every((s) => !st.followed.get(s)!.yes);
    if (!st.readingFollowed && !this.#closed) {
      st.readingFollowed = this.#o.due
        .followed(channel, stale)
        .then((found) => {
          for (const s of stale) st.followed.set(s, { yes: found.has(s), at: now });
        })
        .catch((err: unknown) => this.#o.logger.warn({ err, channel }, 'who follows the symbols not read; ticks refill the channel until a read succeeds'))
        .finally(() => (st.readingFollowed = undefined));
    }
    return false;
  }

  get #safetyMs(): number {
    return this.#o.safetyMs ?? 1000;
  }

  /** Refills one channel; a request while one runs makes it run once more after. */
  request(channel: Channel, announced = false): Promise<void> {
    const st = this.#state[channel];
    if (this.#closed) return Promise.resolve();
    st.announced ||= announced;
    if (st.running) {
      st.again = true;
      return st.running;
    }
    st.running = (async () => {
      do {
        st.again = false;
        const fromAnnounced = st.announced;
        st.announced = false;
        await this.#refill(channel, fromAnnounced);
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
    await Promise.all(Object.values(this.#state).flatMap((st) => [st.running, st.readingFollowed]));
  }

  /** Stops refilling for good and waits for a refill in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  /**
   * A feed send settled: someone it held may be due again (a price written while their send was
   * in flight). A refill soon, shared by every send that settles meanwhile, rather than on the next
   * tick or safety wake: that would hold them back a tick or a second. Only if this process learnt
   * of a newer price since the send began (`startedAt`, performance.now()): a price written after
   * the send read its prices is announced after that read, so when none was heard since, nobody it
   * held is due (and one whose announcement is still on its way wakes a refill when it comes).
   */
  settled(channel: Channel, startedAt: number): void {
    if (this.#changedAt < startedAt) return;
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

  async #refill(channel: Channel, announced: boolean): Promise<void> {
    const { redis, keys, due, queues, rates, logger } = this.#o;
    const st = this.#state[channel];
    const watermark = this.watermark(channel);
    const now = this.#o.now?.() ?? Date.now();
    // Claimed before they are added: a send that runs at once settles its subscriber after the
    // claim, never before it. A crash in between leaves them held until CLAIM_MS runs out.
    const until = now + CLAIM_MS;
    // The lease and the reads at once, the lease asked first: on one connection Redis reads the
    // backlog after it granted the lease; a refill that does not get it drops what it read.
    const lease = takeLease(redis, keys.refillLock(channel), LOCK_MS);
    // A tick that announced its prices, after a refill that took everyone due (no backlog, the
    // usual small tick): the scan goes too, claiming up to the watermark from the prices announced
    // (a round trip less between the tick and its sends). Its claims are atomic, so it may run
    // beside another dispatcher's refill: what it claimed it adds, lease or not (the one without
    // it leaves the fired alerts to the holder). A backlog goes the careful way: the lease, then
    // exactly (watermark − backlog) claimed. The known prices are copied: an announcement heard
    // while this refill runs must not change the symbols it claims on.
    const known: Prices | undefined = announced && st.tookAll ? { written: new Map(this.#known.written), prices: new Map(this.#known.prices) } : undefined;
    const reads = Promise.all([this.#backlog(channel), known ?? this.#latest()]);
    const quickScan = known && this.#scan(channel, known, watermark, now, until);
    reads.catch(() => undefined); // awaited only with the lease or a scan; a failure then is logged below
    quickScan?.catch(() => undefined);
    // undefined: another dispatcher holds the lease; null: Redis did not answer.
    const token = await lease.catch((err: unknown) => {
      logger.warn({ err, channel }, 'refill lease not taken: Redis did not answer; the next refill will try again');
      return null;
    });
    if (!token) {
      if (token === undefined) this.#later(channel, BUSY_RETRY_MS);
      // A scan that went has claimed: what it found is added below (or let go), never left held.
      if (!quickScan) return;
    }
    try {
      const [backlog, prices] = await reads;
      const need = Math.min(MAX_BATCH, watermark - backlog);
      // Claimed in the scan after a refill that took everyone due (as a quick scan always is): there
      // is likely nobody due to leave out. After one that filled up (more due than the queue takes),
      // read, then claim exactly.
      const claimedInScan = st.tookAll;
      const [alertedAll, found] = quickScan ? await quickScan : await this.#scan(channel, prices, need, now, claimedInScan ? until : 0);
      // Fired alerts are taken by the lease's holder only: nothing claims them in the scan.
      const alerted = token ? alertedAll : [];
      const { written } = prices;
      const fed = found.map((f) => f.id);
      const dueOn = new Map(found.map((f) => [f.id, f.symbols]));
      const ids = [...new Set([...alerted, ...fed])].slice(0, Math.max(0, need));
      st.tookAll = ids.length < need;
      const taken = new Set(ids);
      // Everyone taken is held on their plain symbols too, alerted or not: an alerted follower left
      // free there would be found due by the next refill while this send is still queued. Those the
      // scan claimed but the alerts (or the backlog) left no room for are let go.
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
      if (!token || ids.length < need) return;
      // More may be due: come back when the queue is down to half the watermark.
      const ahead = backlog + ids.length - watermark / 2;
      this.#later(channel, Math.max(0, Math.round((ahead / rates[channel]) * 1000)));
    } catch (err) {
      logger.warn({ err, channel }, 'refill failed; the next one will try again');
    } finally {
      if (token) await releaseLease(redis, keys.refillLock(channel), token).catch(() => undefined);
    }
  }

  /**
   * The channel's fired alerts (checked first against `prices`) and its plain due followers, in one
   * round trip: the alerts read beside the due index, fired ones go first (a crossing is news, a
   * plain update is replaced by a fresher one anyway). `claimUntil` > 0: the due ones are claimed
   * in the scan.
   */
  #scan(channel: Channel, { written, prices }: Prices, need: number, now: number, claimUntil: number) {
    return Promise.all([this.#alerted(channel, written, prices, need, now), need > 0 ? this.#o.due.dueOn(channel, written, need, now, claimUntil) : []]);
  }

  /**
   * Makes `read` (a read of the prices or an announcement) what this process knows of each of its
   * symbols, unless it knows a later write already: announcements and reads may arrive in any
   * order, and what a refill works from never goes back in time.
   */
  #know(read: Prices): void {
    for (const [symbol, at] of read.written) {
      const known = this.#known.written.get(symbol);
      if (known !== undefined && Number(known) >= Number(at)) continue;
      this.#known.written.set(symbol, at);
      const price = read.prices.get(symbol);
      if (price !== undefined) this.#known.prices.set(symbol, price);
      this.#changedAt = performance.now();
    }
  }

  /**
   * The prices and their write times, read once for every refill begun in the same turn of the
   * event loop (a wake begins one per channel): each would read the same. A refill begun later
   * reads anew, so none uses a read sent before the tick that woke it.
   */
  #latest(): Promise<Prices> {
    if (!this.#latestThisTurn) {
      this.#latestThisTurn = this.#o.prices.latest().then((read) => {
        this.#know(read);
        return read;
      });
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
