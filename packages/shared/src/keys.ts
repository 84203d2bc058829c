import type { SubscriberId } from './channels.ts';

/**
 * Every Redis key name the system uses, and nothing else builds one.
 *
 * Subscription keys share one hash tag so that a change touching a subscriber and a symbol's
 * set is a single-slot MULTI or script, and the layout runs unchanged on Redis Cluster.
 * BullMQ queues take their own hash-tagged prefix.
 */
export function redisKeys(namespace: string) {
  const subs = `${namespace}:{subs}`;
  const prices = `${namespace}:{prices}`;
  return {
    /** BullMQ's `prefix` option for every queue. */
    queuePrefix: `${namespace}:{q}`,

    /** Hash: channel, address, status, createdAt, updatedAt, lastInboundAt. */
    subscriber: (id: SubscriberId | string) => `${subs}:subscriber:${id}`,
    /** Set of symbols one subscriber follows. */
    subscriberSymbols: (id: SubscriberId | string) => `${subs}:subscriber:${id}:symbols`,
    /** Hash symbol -> last price sent to this subscriber, for the change shown in the next update. */
    subscriberLastSent: (id: SubscriberId | string) => `${subs}:subscriber:${id}:last-sent`,
    /** Set of subscriber ids following one symbol: what fan-out pages through. */
    symbolSubscribers: (symbol: string) => `${subs}:symbol:${symbol}:subscribers`,
    /** The same key as prefix and suffix around the symbol, for scripts that build it per symbol. */
    symbolSubscribersParts: [`${subs}:symbol:`, ':subscribers'] as const,
    /** Set of the opted-in subscribers of one channel (subscribed, not stopped): what the dashboard counts. */
    activeSubscribers: (channel: string) => `${subs}:active:${channel}`,
    /** Set of every subscriber id ever seen. */
    subscribers: `${subs}:all`,

    /** Hash part number -> text: an SMS API message arriving in parts, until every part is in. */
    smsConcatParts: (from: string, ref: string) => `${namespace}:{concat}:${from}:${ref}`,
    /** Hash part number -> that part's own messageId, beside the parts: what the joined message's id is made of. */
    smsConcatPartIds: (from: string, ref: string) => `${namespace}:{concat}:ids:${from}:${ref}`,
    /** Set of the messageIds of parts already joined under this reference, so a late redelivered part starts nothing. */
    smsConcatJoined: (from: string, ref: string) => `${namespace}:{concat}:joined:${from}:${ref}`,

    /** Hash per sent message (by provider uuid): subscriber, channel, text, state, times, error. */
    message: (uuid: string) => `${namespace}:{msgs}:msg:${uuid}`,
    /** List of a subscriber's recent message uuids, newest first, bounded. */
    messageHistory: (id: SubscriberId | string) => `${namespace}:{msgs}:history:${id}`,
    /** Hash `channel:state` -> how many messages reached that state. */
    deliveryCounts: `${namespace}:{msgs}:counts`,

    /** String with a TTL just over the signature age window: a webhook's JWT `jti` or SMS `nonce` already seen (replay guard). */
    webhookReplay: (scheme: 'jti' | 'nonce', value: string) => `${namespace}:{replay}:${scheme}:${value}`,
    /** Counter whose TTL is the rest of its window (from the first hit): requests by one client, or to one number, for a rate limit. */
    rateLimit: (scope: string, subject: string) => `${namespace}:{ratelimit}:${scope}:${subject}`,
    /** String (JSON) with a TTL: a web signup waiting for the person's YES, by subscriber id. */
    pendingSignup: (id: SubscriberId | string) => `${namespace}:{signups}:pending:${id}`,

    /** String (ms, Redis time): the next free send slot of a channel (GCRA), see send-pacer.ts. */
    sendPacing: (channel: string) => `${namespace}:{pacing}:send:${channel}`,
    /** String (ms, Redis time) with a TTL: when a feed update last took a send slot on a channel, see feed-floor.ts. */
    feedSentAt: (channel: string) => `${namespace}:{pacing}:feed-sent:${channel}`,
    /** Sorted set token -> latest possible arrival (ms, Redis time) of a channel's recent sends at the provider, see send-window.ts. */
    sendWindow: (channel: string) => `${namespace}:{pacing}:window:${channel}`,
    /** String (ms, Redis time): when the next reply on a channel may go without waiting (GCRA), see reply-pacer.ts. */
    replyPacing: (channel: string) => `${namespace}:{replies}:pacing:${channel}`,
    /** String (ms, Redis time): when the next web-signup confirmation on a channel may go (GCRA, its own smaller share). */
    signupPacing: (channel: string) => `${namespace}:{replies}:pacing-signups:${channel}`,

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
  } as const;
}

export type RedisKeys = ReturnType<typeof redisKeys>;
