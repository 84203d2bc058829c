import type { RedisClient } from '@tickercast/shared';
import { makeTick, type Logger, type PriceCache, type Queues, type RedisKeys } from '@tickercast/shared';
import { nextPrice, startingPrice, type WalkOptions, DEMO_WALK } from './random-walk.ts';

export interface TickerOptions {
  symbols: readonly string[];
  intervalMs: number;
  redis: RedisClient;
  keys: RedisKeys;
  prices: PriceCache;
  queues: Queues;
  logger: Logger;
  walk?: WalkOptions;
}

/**
 * Moves every symbol's price once per interval, in one tick: its prices written and announced to
 * every dispatcher at once, and a fan-out job per symbol (makeTick).
 * Several replicas may run: each tick slot is claimed with SET NX, so exactly one of them
 * ticks it.
 */
export class Ticker {
  readonly #o: TickerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: TickerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule();
  }

  /** Stops ticking and waits for a tick in progress to finish writing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One tick of every symbol; returns what was published. Exposed for tests. */
  async tick(now = Date.now()): Promise<{ symbol: string; price: number; version: number }[]> {
    const { symbols, prices, queues, walk } = this.#o;
    const current = await prices.getMany(symbols);
    const moves = symbols.map((symbol) => ({ symbol, price: nextPrice(current.get(symbol)?.price ?? startingPrice(symbol), walk ?? DEMO_WALK) }));
    return makeTick({ prices, queues }, moves, now);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { intervalMs } = this.#o;
    // Align to the interval grid so every replica agrees on the slot number.
    const wait = intervalMs - (Date.now() % intervalMs);
    this.#timer = setTimeout(() => {
      this.#running = this.#claimAndTick().finally(() => this.#schedule());
    }, wait);
  }

  async #claimAndTick(): Promise<void> {
    const { redis, keys, intervalMs, logger } = this.#o;
    const slot = Math.round(Date.now() / intervalMs);
    try {
      const claimed = await redis.set(keys.tickClaim(slot), '1', 'PX', intervalMs * 2, 'NX');
      if (claimed !== 'OK') return;
      const quotes = await this.tick();
      logger.debug({ quotes }, 'tick');
    } catch (err) {
      logger.error({ err }, 'tick failed; the next one will try again');
    }
  }
}
