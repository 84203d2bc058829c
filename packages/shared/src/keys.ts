import type { SubscriberId } from './channels.ts';
import { duePartition } from './partitions.ts';

/**
 * Every Redis key name the system uses, and nothing else builds one.
 *
 * Everything of a subscriber's lives under their (channel, partition)'s hash tag
 * ({due:<channel>:<p>}, partitions.ts): their record, and their entries in the index of who
 * follows which symbol and who is due; so a change to a subscription is one slot on Redis
 * Cluster. BullMQ queues take their own hash-tagged prefix.
 */
export interface KeyLayout {
  /**
   * On a Redis Cluster every queue has a hash tag of its own, so the queues spread over the
   * primaries; on one Redis they share `{q}`, as they always have (a queue's keys cannot move
   * without its jobs). So does each channel's pacing (its send schedule and window, its reply
   * schedules: a script per send), which on one Redis keeps the shared `{pacing}` and `{replies}`,
   * and the message log, which on one Redis keeps `{msgs}`.
   */
  cluster?: boolean;
}

/** The message log's shards on a cluster (each a hash tag of its own). */
export const MESSAGE_LOG_SHARDS = 16;

export function redisKeys(namespace: string, layout: KeyLayout = {}) {
  const subs = `${namespace}:{subs}`;
  /** The tag and prefix of a (channel, partition): everything of its subscribers lives under it. */
  const due = (channel: string, p: number) => `${namespace}:{due:${channel}:${p}}`;
  /** The same, of a subscriber's own (channel, partition). */
  const partition = (id: string) => due(id.slice(0, id.indexOf(':')), duePartition(id));
  const prices = `${namespace}:{prices}`;
  /** A channel's send pacing (schedule, window, feed floor: the send window's script reads two of them at once) and its reply schedules. */
  const pacing = (channel: string) => (layout.cluster ? `${namespace}:{pacing:${channel}}` : `${namespace}:{pacing}`);
  const replies = (channel: string) => (layout.cluster ? `${namespace}:{replies:${channel}}` : `${namespace}:{replies}`);
  /**
   * The message log's tag for a key named by `id` (a message's uuid, a subscriber id, a workflow's
   * id): one `{msgs}` on one Redis, as it always was; on a cluster one of MESSAGE_LOG_SHARDS, by a
   * hash of the id, so that every message sent (a script each) does not land on one primary.
   */
  const msgs = (id: string) => (layout.cluster ? `${namespace}:{msgs:${duePartition(id, MESSAGE_LOG_SHARDS)}}` : `${namespace}:{msgs}`);
  return {
    /** BullMQ's `prefix` option of a queue (each queue's keys in one slot, as BullMQ requires). */
    queuePrefix: (queue: string) => (layout.cluster ? `${namespace}:{q:${queue}}` : `${namespace}:{q}`),

    /**
     * Hash, a subscriber's record: channel, address, status, createdAt, updatedAt, lastInboundAt,
     * intervalMs, fallbackChannel and fallbackAddress (FALLBACK SMS), quietStart and quietEnd
     * (QUIET 22-07: minutes of the day) and timeZone (IANA, TZ Europe/London), and a field `sym:<SYMBOL>` per symbol they follow, whose value is the last price
     * they were sent of it and when (`price|ms`), or '' before the first; a field `alert:<SYMBOL>:<kind>` per alert they hold (stores/alert-fields.ts).
     */
    subscriber: (id: SubscriberId | string) => `${partition(id)}:sub:${id}`,
    /** Set of the ids of every subscriber ever seen in a (channel, partition). */
    partitionSubscribers: (channel: string, p: number) => `${due(channel, p)}:all`,
    /** Set of the opted-in subscribers (subscribed, not stopped) of a (channel, partition): what the dashboard counts. */
    partitionActive: (channel: string, p: number) => `${due(channel, p)}:active`,
    /** SCAN pattern of every subscriber record, in whichever partition (a changed partition count leaves some where they no longer belong). */
    subscriberPattern: `${namespace}:{due:*}:sub:*`,

    /** Layout v1's keys, read once by the move to v2 (apps/dispatcher/src/subscriptions-layout.ts) and then deleted. */
    legacy: {
      subscriber: (id: string) => `${subs}:subscriber:${id}`,
      symbols: (id: string) => `${subs}:subscriber:${id}:symbols`,
      lastSent: (id: string) => `${subs}:subscriber:${id}:last-sent`,
      all: `${subs}:all`,
      active: (channel: string) => `${subs}:active:${channel}`,
      /** The per-symbol subscriber sets of versions before the due index. */
      symbolSubscribersPattern: `${subs}:symbol:*:subscribers`,
    },

    /**
     * Sorted set, per channel, partition and symbol: the active subscribers of that channel in that
     * partition who follow the symbol — the one index of who follows what — scored by when their
     * last feed send read the prices (held ones by that plus HELD_OFFSET): who is due
     * (stores/due-index.ts). Each (channel, partition) has its own hash tag, so the index shards
     * on Redis Cluster.
     */
    dueFollowers: (channel: string, partition: number, symbol: string) => `${due(channel, partition)}:sym:${symbol}`,
    /** The same key before the symbol, for scripts that build it per symbol. */
    dueFollowersPrefix: (channel: string, partition: number) => `${due(channel, partition)}:sym:`,
    /** Sorted set subscriber id -> when their hold ends (their feed send settles it, their EVERY interval or quiet hours end), for the held ones of a (channel, partition). */
    dueHeld: (channel: string, partition: number) => `${due(channel, partition)}:held`,
    /** A (channel, partition)'s record key before the id, for scripts that reach the records of the alerts that fired (keys.subscriber). */
    subscriberPrefix: (channel: string, partition: number) => `${due(channel, partition)}:sub:`,

    /**
     * Sorted sets per (channel, partition) and symbol: the alerts' triggers (stores/alerts.ts),
     * members `<kind>|<subscriber id>` scored by the price that fires them: `up` when the price
     * rises to the score or past it, `down` when it falls to it or below. A tick reads only the
     * range between the price checked last and the new one: what fires, not what is held.
     */
    alertTriggers: (channel: string, partition: number, direction: 'up' | 'down', symbol: string) => `${due(channel, partition)}:alert-${direction}:${symbol}`,
    /** The up and down keys before the symbol, for scripts that build them per symbol (every one that changes triggers takes both). */
    alertTriggersPrefixes: (channel: string, partition: number): [up: string, down: string] => [`${due(channel, partition)}:alert-up:`, `${due(channel, partition)}:alert-down:`],
    /**
     * Sorted set subscriber id -> when their fired alert may be taken (ms): when it fired, or, once
     * the refill queued their send, when that claim runs out. The refill reads it before the due index.
     */
    alertsDue: (channel: string, partition: number) => `${due(channel, partition)}:alerts-due`,
    /** Hash symbol -> the price the triggers of a (channel, partition) were last checked against: the low end of the next range. */
    alertsChecked: (channel: string, partition: number) => `${due(channel, partition)}:alerts-checked`,
    /** String: the layout the subscriptions are in (SUBSCRIPTIONS_LAYOUT); a dispatcher that finds another one moves them at start. */
    subscriptionsLayout: `${namespace}:{due}:layout`,
    /** String with a TTL: the one dispatcher moving the subscriptions to this layout. */
    layoutLock: `${namespace}:{due}:build-lock`,
    /** String with a short TTL, per channel: the one dispatcher refilling that channel's send queue right now. */
    refillLock: (channel: string) => `${namespace}:{due}:refill-lock:${channel}`,

    /** Hash part number -> text: an SMS API message arriving in parts, until every part is in. */
    smsConcatParts: (from: string, ref: string) => `${namespace}:{concat}:${from}:${ref}`,
    /** Hash part number -> that part's own messageId, beside the parts: what the joined message's id is made of. */
    smsConcatPartIds: (from: string, ref: string) => `${namespace}:{concat}:ids:${from}:${ref}`,
    /** Set of the messageIds of parts already joined under this reference, so a late redelivered part starts nothing. */
    smsConcatJoined: (from: string, ref: string) => `${namespace}:{concat}:joined:${from}:${ref}`,

    /** Hash per sent message (by provider uuid): subscriber, channel, text, state, times, error. */
    message: (uuid: string) => `${msgs(uuid)}:msg:${uuid}`,
    /**
     * List of a subscriber's recent message uuids, newest first, bounded: in the subscriber's own
     * slot, beside their record, so that a feed turn's end writes it in the script that settles
     * them (before 2026-12-03 it was under the message log's tag; those lists expire within a week).
     */
    messageHistory: (id: SubscriberId | string) => `${partition(id)}:history:${id}`,
    /** String with the message's TTL: the uuid of the message a failover workflow began with (its later legs have uuids of their own). */
    workflow: (workflowId: string) => `${msgs(workflowId)}:workflow:${workflowId}`,
    /** Hash `channel:state` -> how many messages reached that state, beside the message's record (on a cluster, one per shard). */
    deliveryCountsOf: (uuid: string) => `${msgs(uuid)}:counts`,
    /** Every hash of counts, summed when read. */
    deliveryCountKeys: layout.cluster
      ? Array.from({ length: MESSAGE_LOG_SHARDS }, (_, shard) => `${namespace}:{msgs:${shard}}:counts`)
      : [`${namespace}:{msgs}:counts`],

    /** String with a TTL just over the signature age window: a webhook's JWT `jti` or SMS `nonce` already seen (replay guard). */
    webhookReplay: (scheme: 'jti' | 'nonce', value: string) => `${namespace}:{replay}:${scheme}:${value}`,
    /** Counter whose TTL is the rest of its window (from the first hit): requests by one client, or to one number, for a rate limit. */
    rateLimit: (scope: string, subject: string) => `${namespace}:{ratelimit}:${scope}:${subject}`,
    /** String (JSON) with a TTL: a web signup waiting for the person's YES, by subscriber id. */
    pendingSignup: (id: SubscriberId | string) => `${namespace}:{signups}:pending:${id}`,
    /**
     * String with a TTL: the subscriber whose SMS fallback this number becomes on its YES
     * (FALLBACK SMS +number). Beside the web signup, not in its key: the number may have both pending.
     */
    pendingFallback: (id: SubscriberId | string) => `${namespace}:{signups}:pending-fallback:${id}`,

    /** String (ms, Redis time): the next free send slot of a channel (GCRA), see send-pacer.ts. */
    sendPacing: (channel: string) => `${pacing(channel)}:send:${channel}`,
    /** String (ms, Redis time) with a TTL: when a feed update last took a send slot on a channel, see feed-floor.ts. */
    feedSentAt: (channel: string) => `${pacing(channel)}:feed-sent:${channel}`,
    /** Sorted set token -> latest possible arrival (ms, Redis time) of a channel's recent sends at the provider, see send-window.ts. */
    sendWindow: (channel: string) => `${pacing(channel)}:window:${channel}`,
    /** String (ms, Redis time): when the next reply on a channel may go without waiting (GCRA), see reply-pacer.ts. */
    replyPacing: (channel: string) => `${replies(channel)}:pacing:${channel}`,
    /** String (ms, Redis time): when the next web-signup confirmation on a channel may go (GCRA, its own smaller share). */
    signupPacing: (channel: string) => `${replies(channel)}:pacing-signups:${channel}`,

    /** Hash metric name (with labels) -> counter value, summed over every dispatcher. */
    metricsCounters: `${namespace}:{metrics}:counters`,
    /** Hash `name|labels|le` -> histogram bucket counts, plus `name|labels|sum` and `|count`. */
    metricsHistograms: `${namespace}:{metrics}:histograms`,
    /** Hash metric name (with labels) -> what the counter grew by in one slice of time (RECENT_SLICE_MS), with a TTL: "in the last minute". */
    metricsRecent: (slice: number) => `${namespace}:{metrics}:recent:${slice}`,
    /** Sorted set metric name (with labels) -> the greatest value any process recorded (a time, so the newest wins: ZADD GT). */
    metricsLatest: `${namespace}:{metrics}:latest`,

    /** String with a short TTL, per channel: a dispatcher's provider breaker is open (value: since when, ms); gone when it closes or its dispatcher dies. */
    providerBreakerOpen: (channel: string) => `${namespace}:{status}:breaker-open:${channel}`,

    /** Hash symbol -> "price|version|tickedAt": the last-value cache. */
    prices,
    /** Hash symbol -> version counter, bumped by each tick. */
    priceVersions: `${prices}:versions`,
    /** Stream per symbol of its recent ticks (`price`, `version`, `tickedAt`), capped: the dashboard's charts, the admin API. */
    priceHistory: (symbol: string) => `${prices}:history:${symbol}`,
    /** String with a short TTL: the one ticker replica that claims a tick slot runs it. */
    tickClaim: (slot: number) => `${prices}:tick:${slot}`,
    /** Pub/sub channel (no key): each tick's announcement, which wakes every dispatcher's refill at once (queues/ticks.ts). */
    tickAnnouncements: `${namespace}:ticks`,
  } as const;
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/** The key names a configuration uses: its namespace, laid out for a cluster when it names one. */
export function configuredKeys(config: { REDIS_NAMESPACE: string; REDIS_CLUSTER_NODES?: unknown }): RedisKeys {
  return redisKeys(config.REDIS_NAMESPACE, { cluster: config.REDIS_CLUSTER_NODES !== undefined });
}

/** The (channel, partition) and subscriber id of a record's key (keys.subscriber), or undefined if it is not one. */
export function parseSubscriberKey(key: string): { channel: string; partition: number; id: string } | undefined {
  const m = /\{due:([^:}]+):(\d+)\}:sub:(.+)$/.exec(key);
  return m ? { channel: m[1]!, partition: Number(m[2]), id: m[3]! } : undefined;
}
