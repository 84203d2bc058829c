import { z } from 'zod';
import type { PriceCache, PriceQuote } from '../stores/prices.ts';
import { fanoutJobId, type Queues } from './queues.ts';

/**
 * What a tick announces of each symbol it moved: the version its price got, the price, and when
 * Redis wrote it (its clock, ms to the µs: PriceCache). A listener can act on the tick without
 * reading the prices first. `price` and `writtenAt` are optional: an announcer from before they
 * were added (a rolling upgrade) sends only the versions, and its listeners read the prices.
 */
export const tickAnnouncementSchema = z
  .array(z.object({ symbol: z.string().min(1), version: z.number().int(), price: z.number().finite().optional(), writtenAt: z.string().regex(/^\d+(\.\d+)?$/).optional() }))
  .min(1);
export type TickAnnouncement = z.infer<typeof tickAnnouncementSchema>;

/**
 * How long a tick's fan-out job waits before a worker may take it. The job is the backup wake, for
 * a dispatcher that did not hear the announcement, which wakes the refills at once: taken beside
 * the tick's first sends, its fetch and completion put Redis round trips in their way (a trace of
 * a small tick: the adds about 1 ms later). Half a second on, nothing waits for it, and a missed
 * announcement is still served sooner than by the refill's safety wake (every second).
 */
export const BACKUP_WAKE_DELAY_MS = 500;

/**
 * One tick, as every producer of prices makes it: the new prices written and announced in one
 * script (PriceCache.tick: every dispatcher hears it at once and wakes its refill, without a
 * worker's fetch of a job first; lost if none listens), then a fan-out job per symbol tick,
 * delayed by BACKUP_WAKE_DELAY_MS (durable: it wakes a refill whatever happens). A dispatcher that
 * heard a tick announced lets its fan-out job pass without a second wake
 * (apps/dispatcher/src/tick-wake.ts).
 */
export async function makeTick(deps: { prices: PriceCache; queues: Queues }, moves: readonly { symbol: string; price: number }[], tickedAt = Date.now()): Promise<PriceQuote[]> {
  const quotes = await deps.prices.tick(moves, tickedAt);
  if (quotes.length > 0) {
    await deps.queues.fanout.addBulk(quotes.map((q) => ({ name: 'fanout', data: { symbol: q.symbol, version: q.version, tickedAt }, opts: { jobId: fanoutJobId(q), delay: BACKUP_WAKE_DELAY_MS } })));
  }
  return quotes;
}
