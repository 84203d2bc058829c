import { closeRedis, duplicateRedis, tickAnnouncementSchema, type Logger, type RedisClient, type TickAnnouncement } from '@tickercast/shared';

/**
 * Hears the ticks announced (PriceCache.tick, in queues/ticks.ts `makeTick`) and wakes the refill at once: the
 * short way from a tick to its sends, without waiting for a worker to fetch the tick's fan-out job
 * first (BullMQ's marker, then its fetch: about 3 ms of a small tick's way to the provider). The
 * fan-out job still comes, for the dispatchers that did not hear the tick (a connection coming
 * back: pub/sub keeps nothing); one that heard it lets the job pass (`heard`), so a tick costs one
 * refill, not two.
 */
export class TickWake {
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  /** The newest version heard of each symbol (as many entries as symbols). */
  readonly #heard = new Map<string, number>();

  /**
   * `wake`: wakes the refill for a tick heard (with what it announced: its prices), or answers
   * false when it does not run (stopped): then the tick is not counted as heard, and its fan-out
   * job still wakes.
   */
  constructor(redis: RedisClient, channel: string, wake: (ticks: TickAnnouncement) => boolean, logger: Logger) {
    this.#channel = channel;
    // A connection that subscribes can do nothing else: one of its own, closed with this.
    this.#subscriber = duplicateRedis(redis);
    this.#subscriber.on('message', (from: string, text: string) => {
      if (from !== channel) return;
      let ticks;
      try {
        ticks = tickAnnouncementSchema.parse(JSON.parse(text));
      } catch (err) {
        logger.warn({ err, text: text.slice(0, 200) }, 'tick announcement ignored: not one');
        return;
      }
      if (!wake(ticks)) return;
      for (const { symbol, version } of ticks) if (!this.heard(symbol, version)) this.#heard.set(symbol, version);
    });
  }

  /** Listens from now on (and again after each reconnection: ioredis subscribes anew). */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(this.#channel);
  }

  /** Whether this tick (or a later one of the symbol) was heard and woke the refill. */
  heard(symbol: string, version: number): boolean {
    return (this.#heard.get(symbol) ?? -Infinity) >= version;
  }

  async close(): Promise<void> {
    await closeRedis(this.#subscriber);
  }
}
