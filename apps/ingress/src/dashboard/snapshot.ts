import {
  CHANNELS,
  readLatest,
  readRecentCounters,
  type Channel,
  DeliveryLog,
  PriceCache,
  type PriceQuote,
  ProviderStatus,
  type Queues,
  type RedisClient,
  type RedisKeys,
  SubscriptionStore,
} from '@tickercast/shared';

/** What one channel is doing now. */
export interface ChannelNow {
  /** Its configured send rate (messages/s), shared by every dispatcher: what the sends bar fills to. */
  limit: number;
  /** Send jobs not yet taken: waiting, prioritized (replies) and delayed. */
  backlog: number;
  /** When the provider last accepted a price message on it (ms), or null if never: flushed by the dispatchers once a second. */
  lastPriceSentAt: number | null;
  /** Since when a dispatcher's provider breaker is open on it (ms), or null. */
  breakerOpenSince: number | null;
  /** Provider answers in about the last minute: 429s, and 5xx or no answer at all. */
  throttledLastMinute: number;
  providerErrorsLastMinute: number;
}

export interface DashboardSnapshot {
  at: number;
  prices: PriceQuote[];
  /** Opted-in subscribers per channel. */
  subscribers: Record<Channel, number>;
  /** `channel:state` -> messages that reached the state (accepted = taken by the provider). */
  deliveries: Record<string, number>;
  /** Queue name -> job counts by state. */
  queues: Record<string, Record<string, number>>;
  channels: Record<Channel, ChannelNow>;
}

export interface SnapshotSources {
  symbols: readonly string[];
  prices: PriceCache;
  store: SubscriptionStore;
  deliveries: DeliveryLog;
  queues: Queues;
  /** Where the dispatchers' metrics are (the last price's time, the provider's recent answers). */
  redis: RedisClient;
  keys: RedisKeys;
  providerStatus: ProviderStatus;
  /** Each channel's configured send rate (ratesFor). */
  rates: Record<Channel, number>;
}

/** Every reader of the snapshot on one connection. */
export function snapshotSources(redis: RedisClient, keys: RedisKeys, queues: Queues, symbols: readonly string[], rates: Record<Channel, number>): SnapshotSources {
  return {
    symbols,
    prices: new PriceCache(redis, keys),
    store: new SubscriptionStore(redis, keys),
    deliveries: new DeliveryLog(redis, keys),
    queues,
    redis,
    keys,
    providerStatus: new ProviderStatus(redis, keys),
    rates,
  };
}

const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** Sums the provider's recent answers on each channel into 429s and errors (5xx, no answer). */
function providerAnswers(counters: { name: string; labels: Record<string, string>; value: number }[]) {
  const by = Object.fromEntries(CHANNELS.map((c) => [c, { throttled: 0, errors: 0 }])) as Record<Channel, { throttled: number; errors: number }>;
  for (const c of counters) {
    if (c.name !== 'tickercast_provider_responses_total') continue;
    const tally = by[c.labels.channel as Channel];
    if (!tally) continue;
    const status = c.labels.status ?? '';
    if (status === '429') tally.throttled += c.value;
    else if (status === 'network' || Number(status) >= 500) tally.errors += c.value;
  }
  return by;
}

/** Everything the dashboard shows, read from Redis in a handful of round trips. */
export async function takeSnapshot(src: SnapshotSources): Promise<DashboardSnapshot> {
  const at = Date.now();
  const [prices, subscribers, deliveries, queueCounts, recent, latest, breakers] = await Promise.all([
    src.prices.getMany(src.symbols),
    src.store.countByChannel(),
    src.deliveries.counts(),
    Promise.all(src.queues.all().map(async (q) => [q.name, await q.getJobCounts(...QUEUE_STATES)] as const)),
    readRecentCounters(src.redis, src.keys, 60_000, at),
    readLatest(src.redis, src.keys),
    src.providerStatus.openSince(),
  ]);
  const queues = Object.fromEntries(queueCounts);
  const answers = providerAnswers(recent);
  const channel = (c: Channel): ChannelNow => {
    // Summed over the channel's send partitions (SEND_PARTITIONS).
    const q: Record<string, number> = {};
    for (const { name } of src.queues.sendQueues[c]) for (const [state, n] of Object.entries(queues[name] ?? {})) q[state] = (q[state] ?? 0) + n;
    const sentAt = latest.find((g) => g.name === 'tickercast_last_price_sent_timestamp_seconds' && g.labels.channel === c)?.value;
    return {
      limit: src.rates[c],
      backlog: (q.waiting ?? 0) + (q.prioritized ?? 0) + (q.delayed ?? 0),
      lastPriceSentAt: sentAt === undefined ? null : Math.round(sentAt * 1000),
      breakerOpenSince: breakers[c],
      throttledLastMinute: answers[c].throttled,
      providerErrorsLastMinute: answers[c].errors,
    };
  };
  return {
    at,
    prices: src.symbols.flatMap((s) => prices.get(s) ?? []),
    subscribers,
    deliveries,
    queues,
    channels: Object.fromEntries(CHANNELS.map((c) => [c, channel(c)])) as Record<Channel, ChannelNow>,
  };
}
