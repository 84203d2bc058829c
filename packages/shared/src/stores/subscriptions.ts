import type { Redis } from 'ioredis';
import type { Channel, SubscriberId } from '../channels.ts';
import { CHANNELS, parseSubscriberId, subscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';
import { duePartition } from './due-index.ts';

export type SubscriberStatus = 'active' | 'stopped';

export interface Subscriber {
  id: SubscriberId;
  channel: Channel;
  address: string;
  status: SubscriberStatus;
  createdAt: number;
  updatedAt: number;
  lastInboundAt?: number;
  intervalMs?: number;
  symbols: string[];
}

/*
 * STOP keeps the subscriber's own symbol set (so START can resume it) but removes the subscriber
 * from every symbol's set, which is what fan-out reads: after STOP nothing is fanned out to them.
 * Read-modify-write over a dynamic set of keys, so it is one script, not several round trips.
 * Every key shares the {subs} hash tag.
 */
const STOP_SCRIPT = new LuaScript(`
local syms = redis.call('SMEMBERS', KEYS[2])
for _, s in ipairs(syms) do
  redis.call('SREM', ARGV[1] .. s .. ARGV[2], ARGV[3])
  redis.call('ZREM', ARGV[5] .. s, ARGV[3])
end
redis.call('ZREM', KEYS[4], ARGV[3])
local was = redis.call('HGET', KEYS[1], 'status')
redis.call('HSET', KEYS[1], 'status', 'stopped', 'updatedAt', ARGV[4])
redis.call('SREM', KEYS[3], ARGV[3])
return was or false
`);

const START_SCRIPT = new LuaScript(`
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', t[2]):sub(1, 3) .. '.' .. string.format('%06d', t[2]):sub(4)
local syms = redis.call('SMEMBERS', KEYS[2])
for _, s in ipairs(syms) do
  redis.call('SADD', ARGV[1] .. s .. ARGV[2], ARGV[3])
  redis.call('ZADD', ARGV[5] .. s, 'NX', now, ARGV[3])
end
redis.call('HSET', KEYS[1], 'status', 'active', 'updatedAt', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
return syms
`);

/*
 * The due index (due-index.ts) follows the symbol sets: a new follower enters it scored by when they
 * subscribed (Redis' clock), so a price written from then on, not the one they were just told,
 * makes them due.
 *
 * SUBSCRIBE is an opt-in to the symbols asked for. After STOP the held set is not resumed by it
 * (START does that): it starts afresh, so an active subscriber is always fanned out exactly the
 * symbols in their own set.
 */
const SUBSCRIBE_SCRIPT = new LuaScript(`
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', t[2]):sub(1, 3) .. '.' .. string.format('%06d', t[2]):sub(4)
if redis.call('HGET', KEYS[1], 'status') == 'stopped' then redis.call('DEL', KEYS[2]) end
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[4])
redis.call('HSET', KEYS[1], 'channel', ARGV[5], 'address', ARGV[6], 'status', 'active', 'updatedAt', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
for i = 8, #ARGV do
  redis.call('SADD', KEYS[2], ARGV[i])
  redis.call('SADD', ARGV[1] .. ARGV[i] .. ARGV[2], ARGV[3])
  redis.call('ZADD', ARGV[7] .. ARGV[i], 'NX', now, ARGV[3])
end
return 1
`);

/** Subscriptions in Redis: a hash per subscriber, a set of symbols per subscriber, a set of subscribers per symbol. */
export class SubscriptionStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Records that a person wrote to us (creating their record): opens chat windows, nothing else. */
  async touch(channel: Channel, address: string, at = Date.now()): Promise<SubscriberId> {
    const id = subscriberId(channel, address);
    const k = this.#keys;
    await this.#redis
      .multi()
      .hsetnx(k.subscriber(id), 'createdAt', at)
      .hsetnx(k.subscriber(id), 'status', 'active')
      .hset(k.subscriber(id), { channel, address, lastInboundAt: at, updatedAt: at })
      .sadd(k.subscribers, id)
      .exec();
    return id;
  }

  /**
   * Adds symbols and makes the subscriber active: the person asked for them, which is an opt-in.
   * A stopped subscriber starts afresh with just these symbols (START is what resumes the old ones).
   */
  async subscribe(channel: Channel, address: string, symbols: readonly string[], at = Date.now()): Promise<SubscriberId> {
    const id = subscriberId(channel, address);
    const k = this.#keys;
    await SUBSCRIBE_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.subscriberSymbols(id), k.subscribers, k.activeSubscribers(channel)],
      [...k.symbolSubscribersParts, id, at, channel, address, k.dueFollowersPrefix(channel, duePartition(id)), ...symbols],
    );
    return id;
  }

  /** Drops some symbols, keeping the others. */
  async unsubscribe(id: SubscriberId, symbols: readonly string[], at = Date.now()): Promise<void> {
    if (symbols.length === 0) return;
    const k = this.#keys;
    const tx = this.#redis.multi().srem(k.subscriberSymbols(id), ...symbols).hset(k.subscriber(id), 'updatedAt', at);
    const { channel } = parseSubscriberId(id);
    for (const s of symbols) tx.srem(k.symbolSubscribers(s), id).zrem(k.dueFollowers(channel, duePartition(id), s), id);
    await tx.exec();
  }

  /** Opt-out: nothing more is fanned out to this subscriber until they opt back in. Returns the previous status. */
  async stop(id: SubscriberId, at = Date.now()): Promise<SubscriberStatus | undefined> {
    const k = this.#keys;
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const was = (await STOP_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.subscriberSymbols(id), k.activeSubscribers(channel), k.dueHeld(channel, p)],
      [...k.symbolSubscribersParts, id, at, k.dueFollowersPrefix(channel, p)],
    )) as SubscriberStatus | null;
    return was ?? undefined;
  }

  /** Opt back in to the symbols held before STOP. Returns them. */
  async start(id: SubscriberId, at = Date.now()): Promise<string[]> {
    const k = this.#keys;
    const { channel } = parseSubscriberId(id);
    const syms = (await START_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.subscriberSymbols(id), k.activeSubscribers(channel)],
      [...k.symbolSubscribersParts, id, at, k.dueFollowersPrefix(channel, duePartition(id))],
    )) as string[];
    return syms.sort();
  }

  async get(id: SubscriberId): Promise<Subscriber | undefined> {
    const k = this.#keys;
    const [[, hash], [, symbols]] = (await this.#redis
      .multi()
      .hgetall(k.subscriber(id))
      .smembers(k.subscriberSymbols(id))
      .exec()) as [[null, Record<string, string>], [null, string[]]];
    if (!hash.channel || !hash.address) return undefined;
    return {
      id,
      channel: hash.channel as Channel,
      address: hash.address,
      status: (hash.status as SubscriberStatus | undefined) ?? 'active',
      createdAt: Number(hash.createdAt),
      updatedAt: Number(hash.updatedAt),
      ...(hash.lastInboundAt ? { lastInboundAt: Number(hash.lastInboundAt) } : {}),
      ...(hash.intervalMs ? { intervalMs: Number(hash.intervalMs) } : {}),
      symbols: symbols.sort(),
    };
  }

  /** At most one update per symbol per interval for this subscriber; null sends every tick. */
  async setInterval(id: SubscriberId | string, intervalMs: number | null, at = Date.now()): Promise<void> {
    const key = this.#keys.subscriber(id);
    const tx = this.#redis.multi().hset(key, 'updatedAt', at);
    if (intervalMs === null) tx.hdel(key, 'intervalMs');
    else tx.hset(key, 'intervalMs', intervalMs);
    await tx.exec();
  }

  /** Opted-in subscribers per channel. */
  async countByChannel(): Promise<Record<Channel, number>> {
    const tx = this.#redis.multi();
    for (const c of CHANNELS) tx.scard(this.#keys.activeSubscribers(c));
    const results = (await tx.exec()) as [Error | null, number][];
    return Object.fromEntries(CHANNELS.map((c, i) => [c, results[i]![1]])) as Record<Channel, number>;
  }

  /** True unless the subscriber stopped (or never was): the re-check of a feed send after waiting for its slot. */
  async isActive(id: SubscriberId | string): Promise<boolean> {
    const status = await this.#redis.hget(this.#keys.subscriber(id), 'status');
    return status !== null && status !== 'stopped';
  }

  /** True when a feed update for `symbol` may still go to this subscriber (the send-time re-check). */
  async isSubscribed(id: SubscriberId | string, symbol: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#keys.symbolSubscribers(symbol), id)) === 1;
  }

  /** Pages through a symbol's subscribers with SSCAN, `count` at a time. */
  async *subscribersOf(symbol: string, count = 1000): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, ids] = await this.#redis.sscan(this.#keys.symbolSubscribers(symbol), cursor, 'COUNT', count);
      cursor = next;
      if (ids.length > 0) yield ids;
    } while (cursor !== '0');
  }
}
