import { z } from 'zod';
import type { RedisClient } from '../runtime/redis.ts';
import type { RedisKeys } from '../keys.ts';
import { fanoutJobId, type Queues } from './queues.ts';

/** What a tick announces of each symbol it moved: the version its price got. */
export const tickAnnouncementSchema = z.array(z.object({ symbol: z.string().min(1), version: z.number().int() })).min(1);
export type TickAnnouncement = z.infer<typeof tickAnnouncementSchema>;

/**
 * Makes ticks known once their prices are written: a fan-out job per symbol tick (durable: it
 * wakes a refill whatever happens) and one announcement on `keys.tickAnnouncements` (fast: every
 * dispatcher hears it at once, without a worker's fetch of the job first; lost if none listens).
 * A dispatcher that heard a tick announced lets its fan-out job pass without a second wake
 * (apps/dispatcher/src/tick-wake.ts).
 */
export async function announceTicks(deps: { queues: Queues; redis: RedisClient; keys: RedisKeys }, ticks: TickAnnouncement, tickedAt: number): Promise<void> {
  if (ticks.length === 0) return;
  await Promise.all([
    deps.queues.fanout.addBulk(ticks.map((q) => ({ name: 'fanout', data: { symbol: q.symbol, version: q.version, tickedAt }, opts: { jobId: fanoutJobId(q) } }))),
    deps.redis.publish(deps.keys.tickAnnouncements, JSON.stringify(ticks.map(({ symbol, version }) => ({ symbol, version })))),
  ]);
}
