import { afterAll, describe, expect, it } from 'vitest';
import { configuredKeys, duePartition, MESSAGE_LOG_SHARDS, parseSubscriberKey, redisKeys, subscriberId, SubscriptionStore } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

/** The part of a key Redis Cluster hashes: the text inside the first `{…}`, when not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** CRC16-CCITT (XMODEM), as Redis Cluster computes it. */
function crc16(s: string): number {
  let crc = 0;
  for (const byte of Buffer.from(s, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot a key lands in. */
function slot(key: string): number {
  return crc16(hashTag(key)) % 16384;
}

describe('Redis key names', () => {
  it('computes cluster slots the way Redis does (known values)', () => {
    // From the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(crc16('123456789')).toBe(0x31c3);
    expect(slot('foo')).toBe(12182);
    expect(slot('{user1000}.following')).toBe(slot('{user1000}.followers'));
    expect(hashTag('foo{}{bar}')).toBe('foo{}{bar}');
    expect(hashTag('foo{{bar}}zap')).toBe('{bar');
  });

  it("a subscriber's record and their index entries share their (channel, partition)'s tag", () => {
    const k = redisKeys('tc');
    const id = subscriberId('whatsapp', '447700900123');
    const p = duePartition(id);
    const own = [k.subscriber(id), k.partitionSubscribers('whatsapp', p), k.partitionActive('whatsapp', p), k.dueFollowers('whatsapp', p, 'MSFT'), k.dueHeld('whatsapp', p)];
    for (const key of own) expect(hashTag(key)).toBe(`due:whatsapp:${p}`);
    expect(new Set(own.map(slot)).size).toBe(1);
    expect(parseSubscriberKey(k.subscriber(id))).toEqual({ channel: 'whatsapp', partition: p, id });
    expect(parseSubscriberKey(k.dueHeld('whatsapp', p))).toBeUndefined();
    // One partition's keys (every symbol, the held set) share a slot, and the prefix builds the same keys.
    const part = [k.dueFollowers('sms', 2, 'MSFT'), k.dueFollowers('sms', 2, 'GOOGL'), `${k.dueFollowersPrefix('sms', 2)}AAPL`, k.dueHeld('sms', 2)];
    for (const key of part) expect(hashTag(key)).toBe('due:sms:2');
    expect(`${k.dueFollowersPrefix('sms', 2)}MSFT`).toBe(k.dueFollowers('sms', 2, 'MSFT'));
    // Partitions and channels get their own tags, so a cluster spreads them; subscribers spread over the partitions.
    const tags = new Set(['sms', 'whatsapp'].flatMap((c) => [0, 1, 2, 3].map((p) => hashTag(k.dueHeld(c, p)))));
    expect(tags.size).toBe(8);
    const records = new Set(Array.from({ length: 64 }, (_, i) => hashTag(k.subscriber(subscriberId('sms', `4477009001${String(i).padStart(2, '0')}`)))));
    expect(records).toEqual(new Set([0, 1, 2, 3].map((p) => `due:sms:${p}`)));
  });

  it('price keys share one hash tag, queue keys another', () => {
    const k = redisKeys('tc');
    expect(hashTag(k.prices)).toBe('prices');
    expect(slot(k.priceVersions)).toBe(slot(k.prices));
    expect(slot(k.tickClaim(42))).toBe(slot(k.prices));
    // On one Redis every queue shares {q}, as it always has; on a cluster each has its own tag.
    expect(hashTag(`${k.queuePrefix('inbound')}:inbound:wait`)).toBe('q');
    expect(slot(`${k.queuePrefix('send-sms')}:send-sms:id`)).toBe(slot(`${k.queuePrefix('inbound')}:inbound:events`));
    const c = redisKeys('tc', { cluster: true });
    expect(hashTag(`${c.queuePrefix('send-sms')}:send-sms:wait`)).toBe('q:send-sms');
    expect(slot(`${c.queuePrefix('send-sms')}:send-sms:id`)).not.toBe(slot(`${c.queuePrefix('inbound')}:inbound:id`));
    expect(configuredKeys({ REDIS_NAMESPACE: 'tc', REDIS_CLUSTER_NODES: [{ host: 'a', port: 1 }] }).queuePrefix('fanout')).toBe('tc:{q:fanout}');
    expect(configuredKeys({ REDIS_NAMESPACE: 'tc' }).queuePrefix('fanout')).toBe('tc:{q}');
  });

  it("each channel's pacing keys share a slot (the send window's script reads two); on a cluster each channel's is its own", () => {
    const k = redisKeys('tc');
    const c = redisKeys('tc', { cluster: true });
    for (const keys of [k, c]) {
      expect(slot(keys.sendWindow('sms'))).toBe(slot(keys.sendPacing('sms')));
      expect(slot(keys.feedSentAt('sms'))).toBe(slot(keys.sendPacing('sms')));
    }
    // One Redis keeps {pacing} and {replies}, as it always had: a schedule never moves under running dispatchers.
    expect(hashTag(k.sendPacing('sms'))).toBe('pacing');
    expect(hashTag(k.replyPacing('whatsapp'))).toBe('replies');
    expect(slot(k.sendPacing('sms'))).toBe(slot(k.sendPacing('whatsapp')));
    // A cluster spreads the channels' schedules, which every send runs a script on.
    expect(hashTag(c.sendPacing('sms'))).toBe('pacing:sms');
    expect(hashTag(c.replyPacing('sms'))).toBe('replies:sms');
    expect(new Set(['sms', 'whatsapp', 'messenger', 'viber_service'].map((ch) => slot(c.sendPacing(ch)))).size).toBe(4);
  });

  it('the message log keeps {msgs} on one Redis; on a cluster a message, its counts and its workflow are sharded, each record beside its counts', () => {
    const k = redisKeys('tc');
    const c = redisKeys('tc', { cluster: true });
    expect(hashTag(k.message('u-1'))).toBe('msgs');
    expect(k.deliveryCountsOf('u-1')).toBe('tc:{msgs}:counts');
    expect(k.deliveryCountKeys).toEqual(['tc:{msgs}:counts']);
    const uuids = Array.from({ length: 50 }, (_, i) => `uuid-${i}`);
    for (const u of uuids) expect(slot(c.deliveryCountsOf(u))).toBe(slot(c.message(u)));
    expect(new Set(uuids.map((u) => hashTag(c.message(u)))).size).toBeGreaterThan(8);
    expect(c.deliveryCountKeys).toHaveLength(MESSAGE_LOG_SHARDS);
    expect(new Set(c.deliveryCountKeys)).toContain(c.deliveryCountsOf('uuid-7'));
  });

  it('every key starts with its namespace, so namespaces never share a key', () => {
    const a = redisKeys('alpha');
    const b = redisKeys('beta');
    const id = subscriberId('sms', '447700900123');
    const names = (k: ReturnType<typeof redisKeys>) => [
      k.queuePrefix('inbound'),
      k.subscriber(id),
      k.partitionSubscribers('sms', 0),
      k.partitionActive('sms', 0),
      k.legacy.all,
      k.dueFollowers('sms', 0, 'MSFT'),
      k.smsConcatParts('447700900123', '7'),
      k.deliveryCountsOf('u-1'),
      k.prices,
      k.priceVersions,
      k.tickClaim(1),
    ];
    for (const key of names(a)) expect(key.startsWith('alpha:')).toBe(true);
    for (const key of names(b)) expect(key.startsWith('beta:')).toBe(true);
    const shared = names(a).filter((key) => names(b).includes(key));
    expect(shared).toEqual([]);
  });

  it('distinct subscribers and symbols get distinct keys', () => {
    const k = redisKeys('tc');
    expect(k.subscriber('sms:447700900123')).not.toBe(k.subscriber('whatsapp:447700900123'));
    expect(k.subscriber('sms:1')).not.toBe(k.subscriber('sms:11'));
    expect(k.dueFollowers('sms', 0, 'MSFT')).not.toBe(k.dueFollowers('sms', 0, 'MSF'));
    expect(k.smsConcatParts('447700900123', '1')).not.toBe(k.smsConcatParts('447700900124', '1'));
  });
});

describe('namespaces on a real Redis', () => {
  const one = testRedis();
  const two = testRedis();
  afterAll(async () => {
    await one.cleanup();
    await two.cleanup();
  });

  it('a subscription in one namespace is invisible in another', async () => {
    const a = new SubscriptionStore(one.redis, one.keys);
    const b = new SubscriptionStore(two.redis, two.keys);
    const id = await a.subscribe('sms', '447700900123', ['MSFT']);
    expect(await a.isSubscribed(id, 'MSFT')).toBe(true);
    expect(await b.isSubscribed(id, 'MSFT')).toBe(false);
    expect(await b.get(id)).toBeUndefined();
    expect(await one.redis.keys(`${two.namespace}:*`)).toEqual([]);
    const written = await one.redis.keys(`${one.namespace}:*`);
    expect(written.length).toBeGreaterThan(0);
    // Everything of the subscriber's under their (channel, partition)'s tag: one slot.
    const p = duePartition(id);
    for (const key of written) expect(hashTag(key)).toBe(`due:sms:${p}`);
  });
});
