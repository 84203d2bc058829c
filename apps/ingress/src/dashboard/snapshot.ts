import type { Channel, DeliveryLog, PriceCache, PriceQuote, Queues, SubscriptionStore } from '@tickercast/shared';

export interface DashboardSnapshot {
  at: number;
  prices: PriceQuote[];
  /** Opted-in subscribers per channel. */
  subscribers: Record<Channel, number>;
  /** `channel:state` -> messages that reached the state (accepted = taken by the provider). */
  deliveries: Record<string, number>;
  /** Queue name -> job counts by state. */
  queues: Record<string, Record<string, number>>;
}

export interface SnapshotSources {
  symbols: readonly string[];
  prices: PriceCache;
  store: SubscriptionStore;
  deliveries: DeliveryLog;
  queues: Queues;
}

const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** Everything the dashboard shows, read from Redis in a handful of round trips. */
export async function takeSnapshot(src: SnapshotSources): Promise<DashboardSnapshot> {
  const [prices, subscribers, deliveries, queueCounts] = await Promise.all([
    src.prices.getMany(src.symbols),
    src.store.countByChannel(),
    src.deliveries.counts(),
    Promise.all(src.queues.all().map(async (q) => [q.name, await q.getJobCounts(...QUEUE_STATES)] as const)),
  ]);
  return {
    at: Date.now(),
    prices: src.symbols.flatMap((s) => prices.get(s) ?? []),
    subscribers,
    deliveries,
    queues: Object.fromEntries(queueCounts),
  };
}
