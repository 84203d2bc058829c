import type { RedisClient } from '../runtime/redis.ts';
import type { Channel, SubscriberId } from '../channels.ts';
import { CHANNELS, parseSubscriberId, subscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LUA_NOW_MS, LuaScript } from '../runtime/lua.ts';
import { DUE_PARTITIONS, duePartition } from '../partitions.ts';
import { LUA_ALERT_FIELDS } from './alert-fields.ts';

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
  /** Where their messages go when their channel cannot deliver them (FALLBACK SMS): the Messages API's failover. */
  fallback?: Fallback;
  /** QUIET 22-07: wall-clock minutes of the day in `timeZone` when no feed update goes (fields quietStart, quietEnd). */
  quiet?: QuietHours;
  /** Their IANA time zone (TZ Europe/London, or their number's when QUIET was set): what their quiet hours are read in. */
  timeZone?: string;
  symbols: string[];
}

/** A daily window [startMin, endMin) of wall-clock minutes; start > end runs across midnight. */
export interface QuietHours {
  startMin: number;
  endMin: number;
}

/** The record's fields of quiet hours: STOP removes them with everything else a person set. */
export const QUIET_FIELDS = ['quietStart', 'quietEnd', 'timeZone'] as const;

/** A subscriber's fallback: a channel and the address there, kept in their record (fields fallbackChannel, fallbackAddress). */
export interface Fallback {
  channel: Channel;
  address: string;
}

/*
 * A subscriber's record is one hash under their (channel, partition)'s tag (keys.ts): who they
 * are, and a field `sym:<SYMBOL>` per symbol they chose, holding the last price they were sent of
 * it. Who follows which symbol is the due index (due-index.ts), in the same slot: the active ones,
 * by channel, partition and symbol. So every change here is one script or transaction on one slot.
 *
 * STOP keeps the subscriber's symbols (so START can resume them) but takes them out of the index,
 * which is what the refill and broadcasts read: after STOP nothing goes to them.
 * Read-modify-write over a dynamic set of keys, so each is one script, not several round trips.
 */

/** The prefix of a record's symbol fields. */
export const SYMBOL_FIELD = 'sym:';

/**
 * Lua for a record's symbol fields, for every script that reads or writes them (here, the send's
 * state, the layout move): sym_field(symbol), symbol_of(field) (nil if not a symbol field),
 * symbols_of(key).
 */
export const LUA_SYMBOL_FIELDS = `
local SYM = '${SYMBOL_FIELD}'
local function sym_field(s) return SYM .. s end
local function symbol_of(f)
  if string.sub(f, 1, #SYM) == SYM then return string.sub(f, #SYM + 1) end
  return nil
end
local function symbols_of(key)
  local out = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local s = symbol_of(f)
    if s then out[#out + 1] = s end
  end
  return out
end
-- What a send carried, from ARGV[from] on (symbol and 'price|ms' in pairs), written only where the
-- record still follows the symbol: a send that ran while they dropped one must not add it back.
local function set_last_sent(rec, from)
  for i = from, #ARGV, 2 do
    local f = sym_field(ARGV[i])
    if redis.call('HEXISTS', rec, f) == 1 then redis.call('HSET', rec, f, ARGV[i + 1]) end
  end
end`;

/**
 * STOP also removes every alert (stores/alerts.ts): START resumes the plain feed only.
 * KEYS: record, the partition's active set, its held set, its alerts due. ARGV: id, time, the
 * index's key prefix for the partition, the up and down alert trigger prefixes.
 */
/*
 * Removes the subscriber's fallback: any (ARGV[2] and ARGV[3] empty), or only the one named, so
 * that one set meanwhile stays. ARGV: updatedAt, channel, address. Returns 1 when one was removed.
 */
const CLEAR_FALLBACK_SCRIPT = new LuaScript(`
if ARGV[2] ~= '' then
  local f = redis.call('HMGET', KEYS[1], 'fallbackChannel', 'fallbackAddress')
  if f[1] ~= ARGV[2] or f[2] ~= ARGV[3] then return 0 end
end
local removed = redis.call('HDEL', KEYS[1], 'fallbackChannel', 'fallbackAddress')
if removed > 0 then redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1]) end
return removed > 0 and 1 or 0
`);

const STOP_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
${LUA_ALERT_FIELDS}
for _, s in ipairs(symbols_of(KEYS[1])) do redis.call('ZREM', ARGV[3] .. s, ARGV[1]) end
redis.call('ZREM', KEYS[3], ARGV[1])
drop_all_alerts(KEYS[1], ARGV[1], ARGV[4], ARGV[5])
redis.call('ZREM', KEYS[4], ARGV[1])
local was = redis.call('HGET', KEYS[1], 'status')
if was then redis.call('HSET', KEYS[1], 'status', 'stopped', 'updatedAt', ARGV[2]) end
redis.call('HDEL', KEYS[1], ${QUIET_FIELDS.map((f) => `'${f}'`).join(', ')})
redis.call('SREM', KEYS[2], ARGV[1])
return was or false
`);

/** KEYS: record, the partition's active set. ARGV as STOP's. */
const START_SCRIPT = new LuaScript(`
${LUA_NOW_MS}
${LUA_SYMBOL_FIELDS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local syms = symbols_of(KEYS[1])
for _, s in ipairs(syms) do redis.call('ZADD', ARGV[3] .. s, 'NX', now, ARGV[1]) end
redis.call('HSET', KEYS[1], 'status', 'active', 'updatedAt', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return syms
`);

/*
 * A new follower enters the index scored by when they subscribed (Redis' clock), so a price
 * written from then on, not the one they were just told, makes them due.
 *
 * SUBSCRIBE is an opt-in to the symbols asked for. After STOP the held symbols are not resumed by
 * it (START does that): it starts afresh, so an active subscriber is always fanned out exactly
 * the symbols of their own record. A symbol already followed keeps its last-sent price (HSETNX).
 * A symbol with alerts (ALERT MSFT 2%) comes back to the plain feed: its alerts go.
 * KEYS: record, the partition's all and active sets. ARGV: id, time, channel, address, the
 * index's key prefix for the partition, the up and down alert trigger prefixes, then the symbols.
 */
const SUBSCRIBE_SCRIPT = new LuaScript(`
${LUA_NOW_MS}
${LUA_SYMBOL_FIELDS}
${LUA_ALERT_FIELDS}
if redis.call('HGET', KEYS[1], 'status') == 'stopped' then
  for _, s in ipairs(symbols_of(KEYS[1])) do redis.call('HDEL', KEYS[1], sym_field(s)) end
end
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[1], 'channel', ARGV[3], 'address', ARGV[4], 'status', 'active', 'updatedAt', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
for i = 8, #ARGV do
  drop_alerts_of(KEYS[1], ARGV[1], ARGV[i], ARGV[6], ARGV[7])
  redis.call('HSETNX', KEYS[1], sym_field(ARGV[i]), '')
  redis.call('ZADD', ARGV[5] .. ARGV[i], 'NX', now, ARGV[1])
end
return 1
`);

/*
 * UNSUBSCRIBE from some symbols: each one's field, its place in the due index and its alerts (the
 * fields and their triggers, as the alert store removes them). KEYS: record. ARGV: id, time, the
 * index's key prefix for the partition, the up and down alert trigger prefixes, then the symbols.
 */
const UNSUBSCRIBE_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
${LUA_ALERT_FIELDS}
for i = 6, #ARGV do
  redis.call('HDEL', KEYS[1], sym_field(ARGV[i]))
  redis.call('ZREM', ARGV[3] .. ARGV[i], ARGV[1])
  drop_alerts_of(KEYS[1], ARGV[1], ARGV[i], ARGV[4], ARGV[5])
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2])
return 1
`);

/** Subscriptions in Redis: a record per subscriber, and their place in the due index. */
export class SubscriptionStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
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
      .sadd(k.partitionSubscribers(channel, duePartition(id)), id)
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
    const p = duePartition(id);
    await SUBSCRIBE_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.partitionSubscribers(channel, p), k.partitionActive(channel, p)],
      [id, at, channel, address, k.dueFollowersPrefix(channel, p), ...k.alertTriggersPrefixes(channel, p), ...symbols],
    );
    return id;
  }

  /**
   * Drops some symbols, keeping the others: their plain feed and their alerts. An alert's
   * triggers are named by kind and id, so this needs no read; a fired alert's place in the alerts
   * due set is let go by the feed send that finds nothing fired (LastSentPrices.feedState).
   */
  async unsubscribe(id: SubscriberId, symbols: readonly string[], at = Date.now()): Promise<void> {
    if (symbols.length === 0) return;
    const k = this.#keys;
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    await UNSUBSCRIBE_SCRIPT.run(this.#redis, [k.subscriber(id)], [
      id,
      at,
      k.dueFollowersPrefix(channel, p),
      ...k.alertTriggersPrefixes(channel, p),
      ...symbols,
    ]);
  }

  /** Opt-out: nothing more is fanned out to this subscriber until they opt back in. Returns the previous status. */
  async stop(id: SubscriberId, at = Date.now()): Promise<SubscriberStatus | undefined> {
    const k = this.#keys;
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const was = (await STOP_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.partitionActive(channel, p), k.dueHeld(channel, p), k.alertsDue(channel, p)],
      [id, at, k.dueFollowersPrefix(channel, p), ...k.alertTriggersPrefixes(channel, p)],
    )) as SubscriberStatus | null;
    return was ?? undefined;
  }

  /** Opt back in to the symbols held before STOP. Returns them. */
  async start(id: SubscriberId, at = Date.now()): Promise<string[]> {
    const k = this.#keys;
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const syms = (await START_SCRIPT.run(this.#redis, [k.subscriber(id), k.partitionActive(channel, p)], [id, at, k.dueFollowersPrefix(channel, p)])) as string[];
    return syms.sort();
  }

  async get(id: SubscriberId): Promise<Subscriber | undefined> {
    const hash = await this.#redis.hgetall(this.#keys.subscriber(id));
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
      ...(hash.fallbackChannel && hash.fallbackAddress ? { fallback: { channel: hash.fallbackChannel as Channel, address: hash.fallbackAddress } } : {}),
      ...(quietOf(hash.quietStart, hash.quietEnd) ?? {}),
      ...(hash.timeZone ? { timeZone: hash.timeZone } : {}),
      symbols: symbolsOf(hash),
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

  /** Sets the subscriber's fallback (FALLBACK SMS), in their record: one hash, one slot. */
  async setFallback(id: SubscriberId | string, fallback: Fallback, at = Date.now()): Promise<void> {
    await this.#redis.hset(this.#keys.subscriber(id), { fallbackChannel: fallback.channel, fallbackAddress: fallback.address, updatedAt: at });
  }

  /** Removes the subscriber's fallback (FALLBACK OFF), or only `only` if it is still theirs; true when one was removed. */
  async clearFallback(id: SubscriberId | string, at = Date.now(), only?: Fallback): Promise<boolean> {
    const removed = await CLEAR_FALLBACK_SCRIPT.run(this.#redis, [this.#keys.subscriber(id)], [at, only?.channel ?? '', only?.address ?? '']);
    return removed === 1;
  }

  /**
   * Sets their quiet hours (QUIET 22-07), and `suggested` as their time zone if they have none (the
   * one their number suggests). Answers the zone they have now, and whether it is the one suggested
   * just now. Ends a hold of theirs in the due index: one made for the quiet hours they had must not
   * outlast them; any other hold their next feed send makes again.
   */
  async setQuiet(id: SubscriberId | string, quiet: QuietHours, suggested: string | undefined, at = Date.now()): Promise<{ timeZone: string | undefined; suggested: boolean }> {
    const key = this.#keys.subscriber(id);
    const tx = this.#redis.multi().hset(key, { quietStart: quiet.startMin, quietEnd: quiet.endMin, updatedAt: at });
    if (suggested) tx.hsetnx(key, 'timeZone', suggested);
    tx.hget(key, 'timeZone');
    const results = (await this.#endHold(tx, id, at).exec())!;
    const zone = results[suggested ? 2 : 1]![1] as string | null;
    return { timeZone: zone ?? undefined, suggested: suggested !== undefined && results[1]![1] === 1 };
  }

  /** Ends their quiet hours (QUIET OFF), keeping their time zone; true when they had some. Ends a hold as setQuiet does. */
  async clearQuiet(id: SubscriberId | string, at = Date.now()): Promise<boolean> {
    const key = this.#keys.subscriber(id);
    const tx = this.#redis.multi().hdel(key, 'quietStart', 'quietEnd').hset(key, 'updatedAt', at);
    const [[, removed]] = (await this.#endHold(tx, id, at).exec()) as [[Error | null, number], unknown];
    return removed > 0;
  }

  /**
   * Sets their time zone (TZ Europe/London), or forgets it (undefined: TZ OFF with no number to go
   * by, UTC then): their quiet hours are read in it from now on. Answers their quiet hours, if any.
   * Ends a hold as setQuiet does.
   */
  async setTimeZone(id: SubscriberId | string, timeZone: string | undefined, at = Date.now()): Promise<QuietHours | undefined> {
    const key = this.#keys.subscriber(id);
    const tx = this.#redis.multi();
    if (timeZone) tx.hset(key, { timeZone, updatedAt: at });
    else tx.hdel(key, 'timeZone').hset(key, 'updatedAt', at);
    tx.hmget(key, 'quietStart', 'quietEnd');
    const results = (await this.#endHold(tx, id, at).exec())!;
    const [start, end] = results[timeZone ? 1 : 2]![1] as [string | null, string | null];
    return quietOf(start, end)?.quiet;
  }

  /** Brings the end of the subscriber's hold in the due index forward to `at` (never later): the next refill frees them. */
  #endHold(tx: ReturnType<RedisClient['multi']>, id: SubscriberId | string, at: number): ReturnType<RedisClient['multi']> {
    const { channel } = parseSubscriberId(id);
    return tx.zadd(this.#keys.dueHeld(channel, duePartition(id)), 'XX', 'LT', at, id);
  }

  /** Opted-in subscribers per channel. */
  async countByChannel(): Promise<Record<Channel, number>> {
    const counts = await Promise.all(
      CHANNELS.map(async (c) => {
        const sizes = await Promise.all(Array.from({ length: DUE_PARTITIONS }, (_, p) => this.#redis.scard(this.#keys.partitionActive(c, p))));
        return [c, sizes.reduce((a, b) => a + b, 0)] as const;
      }),
    );
    return Object.fromEntries(counts) as Record<Channel, number>;
  }

  /** True unless the subscriber stopped (or never was): the re-check of a feed send after waiting for its slot. */
  async isActive(id: SubscriberId | string): Promise<boolean> {
    const status = await this.#redis.hget(this.#keys.subscriber(id), 'status');
    return status !== null && status !== 'stopped';
  }

  /** True when this subscriber is active and follows `symbol` (what the index holds). */
  async isSubscribed(id: SubscriberId | string, symbol: string): Promise<boolean> {
    const { channel } = parseSubscriberId(id);
    return (await this.#redis.zscore(this.#keys.dueFollowers(channel, duePartition(id), symbol), id)) !== null;
  }

  /** How many active subscribers follow `symbol`, on every channel. */
  async countFollowers(symbol: string): Promise<number> {
    // One command per (channel, partition): each is its own slot on a cluster.
    const sizes = await Promise.all(CHANNELS.flatMap((c) => Array.from({ length: DUE_PARTITIONS }, (_, p) => this.#redis.zcard(this.#keys.dueFollowers(c, p, symbol)))));
    return sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * One page of a symbol's active followers (on one channel, or all): ZSCAN over each (channel,
   * partition) of the index in turn. `cursor` is what the previous page returned ('0' to begin);
   * the returned cursor is '0' when every follower has been listed.
   */
  async followersPage(symbol: string, cursor: string, count: number, channel?: Channel): Promise<{ ids: string[]; cursor: string }> {
    return this.#pageAcross(cursor, count, channel, async (c, p, from, want) => {
      const [next, flat] = await this.#redis.zscan(this.#keys.dueFollowers(c, p, symbol), from, 'COUNT', want);
      return [next, flat.filter((_, i) => i % 2 === 0)];
    });
  }

  /** Pages through a symbol's active followers, about `count` at a time. */
  async *subscribersOf(symbol: string, count = 1000): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const page = await this.followersPage(symbol, cursor, count);
      cursor = page.cursor;
      if (page.ids.length > 0) yield page.ids;
    } while (cursor !== '0');
  }

  /**
   * One page of every subscriber ever seen (on one channel, or all): SSCAN over each (channel,
   * partition)'s set in turn. `cursor` is what the previous page returned ('0' to begin); the
   * returned cursor is '0' when all have been listed. SSCAN's COUNT is a hint: a page may hold a
   * few more than `count`.
   */
  async subscribersPage(cursor: string, count: number, channel?: Channel): Promise<{ ids: string[]; cursor: string }> {
    return this.#pageAcross(cursor, count, channel, (c, p, from, want) => this.#redis.sscan(this.#keys.partitionSubscribers(c, p), from, 'COUNT', want));
  }

  /**
   * A page of ids from one key per (channel, partition), scanned in turn: the cursor is
   * `channel.partition.scan` ('0' to begin, '0' once every key is done).
   */
  async #pageAcross(
    cursor: string,
    count: number,
    channel: Channel | undefined,
    scan: (channel: Channel, partition: number, from: string, want: number) => Promise<[string, string[]]>,
  ): Promise<{ ids: string[]; cursor: string }> {
    const channels = channel ? [channel] : CHANNELS;
    const [c0, p0, s0] = cursor === '0' ? [0, 0, '0'] : cursor.split('.');
    let ci = Number(c0);
    let p = Number(p0);
    let from = String(s0);
    const ids: string[] = [];
    while (ci < channels.length && ids.length < count) {
      const [next, found] = await scan(channels[ci]!, p, from, count - ids.length);
      ids.push(...found);
      from = next;
      if (from === '0' && ++p === DUE_PARTITIONS) {
        p = 0;
        ci++;
      }
    }
    return { ids, cursor: ci >= channels.length ? '0' : `${ci}.${p}.${from}` };
  }
}

/** Quiet hours from a record's quietStart and quietEnd, if it has them. */
export function quietOf(start: string | null | undefined, end: string | null | undefined): { quiet: QuietHours } | undefined {
  if (!start || !end) return undefined;
  const quiet = { startMin: Number(start), endMin: Number(end) };
  return Number.isInteger(quiet.startMin) && Number.isInteger(quiet.endMin) && quiet.startMin !== quiet.endMin ? { quiet } : undefined;
}

/** The symbols of a record (its `sym:` fields), sorted. */
export function symbolsOf(record: Record<string, string>): string[] {
  return Object.keys(record)
    .filter((f) => f.startsWith(SYMBOL_FIELD))
    .map((f) => f.slice(SYMBOL_FIELD.length))
    .sort();
}
