import { partitionGroups, type RedisClient } from '../runtime/redis.ts';
import type { Channel, SubscriberId } from '../channels.ts';
import { parseSubscriberId, subscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { LuaScript } from '../runtime/lua.ts';
import { DUE_PARTITIONS, duePartition } from '../partitions.ts';
import { alertsOf, encodeAlert, LUA_ALERT_FIELDS, type Alert, type AlertKind } from './alert-fields.ts';
import { longestWaitingFirst } from './due-index.ts';
import { LUA_SYMBOL_FIELDS } from './subscriptions.ts';

/*
 * Price alerts (ALERT MSFT 2%, ALERT MSFT > 420, ALERT MSFT < 400), kept so that a tick costs what
 * fires, not what is held.
 *
 * Each alert is a field of its subscriber's record (alert-fields.ts) and one or two triggers in
 * the sorted sets of its (channel, partition) and symbol (keys.alertTriggers), scored by the price
 * that fires them: `up` ones fire when the price rises to their score or past it, `down` ones when
 * it falls to it or below. A move of 2% is two triggers, 2% above and below the price it was last
 * sent at, set again after each message of it; a price to cross is one trigger, spent once its
 * message went. Everything of a subscriber's stays under their partition's hash tag.
 *
 * The refill (apps/dispatcher/src/refill.ts), which already runs per channel at each tick, asks
 * each partition for the triggers between the price checked last and the new one (`check`): two
 * ZRANGEBYSCOREs per symbol whatever the number of alerts held, plus the work of each one fired.
 * A fired alert is marked in the record and its subscriber put in the partition's alerts-due set,
 * which the refill takes from before the due index (`due`, `claim`); their feed send carries the
 * alert's message through the same path as every update (pace, replies first, STOP re-check,
 * latest price) and settles it (`settle`).
 *
 * An alert on a symbol replaces that person's plain feed of it: setting one drops the symbol from
 * their feed, and subscribing to the symbol again (MSFT) removes its alerts (SUBSCRIBE_SCRIPT).
 */

/** Triggers a `check` fires per symbol and partition in one script: a large crossing is taken in several. */
const CHECK_BATCH = 1000;

/**
 * KEYS: record, the partition's all and active sets, its checked prices. ARGV: id, time, channel,
 * address, the due index's key prefix, the up and down trigger prefixes, symbol, kind, the field's
 * value, the up and down scores ('' for none), the price now. Returns 1 when the symbol was in the
 * person's plain feed (it no longer is).
 */
const SET_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
${LUA_ALERT_FIELDS}
local rec, id, s, k = KEYS[1], ARGV[1], ARGV[8], ARGV[9]
local up, down = ARGV[6], ARGV[7]
if redis.call('HGET', rec, 'status') == 'stopped' then
  for _, sym in ipairs(symbols_of(rec)) do redis.call('HDEL', rec, sym_field(sym)) end
  drop_all_alerts(rec, id, up, down)
end
redis.call('HSETNX', rec, 'createdAt', ARGV[2])
redis.call('HSET', rec, 'channel', ARGV[3], 'address', ARGV[4], 'status', 'active', 'updatedAt', ARGV[2])
redis.call('SADD', KEYS[2], id)
redis.call('SADD', KEYS[3], id)
local had = redis.call('HDEL', rec, sym_field(s))
redis.call('ZREM', ARGV[5] .. s, id)
drop_alert(rec, id, s, k, up, down)
redis.call('HSET', rec, AL .. s .. ':' .. k, ARGV[10])
local m = k .. '|' .. id
if ARGV[11] ~= '' then redis.call('ZADD', up .. s, ARGV[11], m) end
if ARGV[12] ~= '' then redis.call('ZADD', down .. s, ARGV[12], m) end
redis.call('HSETNX', KEYS[4], s, ARGV[13])
return had
`);

/** KEYS: record. ARGV: id, time, up and down trigger prefixes, then the symbols (none: every alert). Returns how many went. */
const REMOVE_SCRIPT = new LuaScript(`
${LUA_ALERT_FIELDS}
local rec, id, up, down = KEYS[1], ARGV[1], ARGV[3], ARGV[4]
local n = 0
if #ARGV == 4 then n = drop_all_alerts(rec, id, up, down)
else for i = 5, #ARGV do n = n + drop_alerts_of(rec, id, ARGV[i], up, down) end end
if n > 0 then redis.call('HSET', rec, 'updatedAt', ARGV[2]) end
return n
`);

/*
 * Each partition's check: per symbol, the triggers between the price checked last and the new one
 * fire (up ones in (old, new], down ones in [new, old)), at most `batch` per symbol; the checked
 * price moves to the new one once a symbol's range is done. A fired trigger leaves both sets; its
 * alert, if still armed, is marked fired and its subscriber is due (NX: a claim in force stays).
 * Then, once nothing is left to fire and `need` > 0, the partition's `need` subscribers whose alert
 * fired longest ago, with when (what `due` reads), so that a refill checks and reads in one step.
 * Partitions of a channel (one, or all of them on one Redis: see partitionGroups). KEYS: each
 * partition's checked prices and alerts due. ARGV: now (ms), batch, need, each partition's up and
 * down trigger prefixes and record prefix, then symbol and price in pairs. Returns, per
 * partition, {fired, symbols with more to fire, due}.
 */
const CHECK_SCRIPT = new LuaScript(`
${LUA_ALERT_FIELDS}
local now, batch, need = ARGV[1], ARGV[2], ARGV[3]
local parts = #KEYS / 2
local first = 4 + 3 * parts
local results = {}
for part = 1, parts do
  local checked, dueKey = KEYS[2 * part - 1], KEYS[2 * part]
  local up, down, recs = ARGV[1 + 3 * part], ARGV[2 + 3 * part], ARGV[3 + 3 * part]
  local fired, more = 0, 0
  for i = first, #ARGV, 2 do
    local s, p = ARGV[i], ARGV[i + 1]
    local old = redis.call('HGET', checked, s)
    if not old then
      redis.call('HSET', checked, s, p)
    elseif tonumber(old) ~= tonumber(p) then
      local hits
      if tonumber(p) > tonumber(old) then
        hits = redis.call('ZRANGEBYSCORE', up .. s, '(' .. old, p, 'LIMIT', 0, batch)
      else
        hits = redis.call('ZRANGEBYSCORE', down .. s, p, '(' .. old, 'LIMIT', 0, batch)
      end
      for _, m in ipairs(hits) do
        local bar = string.find(m, '|', 1, true)
        local k, id = string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
        redis.call('ZREM', up .. s, m)
        redis.call('ZREM', down .. s, m)
        local rec, f = recs .. id, AL .. s .. ':' .. k
        local v = redis.call('HGET', rec, f)
        if v and alert_state(v) == 'armed' then
          redis.call('HSET', rec, f, with_state(v, 'fired'))
          redis.call('ZADD', dueKey, 'NX', now, id)
          fired = fired + 1
        end
      end
      if #hits < tonumber(batch) then redis.call('HSET', checked, s, p) else more = more + 1 end
    end
  end
  local due = {}
  if more == 0 and tonumber(need) > 0 then due = redis.call('ZRANGEBYSCORE', dueKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, need) end
  results[part] = { fired, more, due }
end
return results
`);

/*
 * After a feed send carried fired alerts (or gave up on them): each alert still as the send read
 * it (a value written since is another alert, set or fired anew, that this send did not carry)
 * takes the value the caller gives (`AlertStore.settle`: a move armed again, a price crossed
 * spent) and the triggers given. Then the subscriber stays due only if an alert fired meanwhile.
 * KEYS: record, alerts due. ARGV: now, id, up and down trigger prefixes, then per alert: symbol,
 * kind, the value read, the new value, the up and down triggers ('' for none).
 */
const SETTLE_SCRIPT = new LuaScript(`
${LUA_ALERT_FIELDS}
local rec, id, up, down = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
for i = 5, #ARGV, 6 do
  local s, k = ARGV[i], ARGV[i + 1]
  local f = AL .. s .. ':' .. k
  if redis.call('HGET', rec, f) == ARGV[i + 2] then
    redis.call('HSET', rec, f, ARGV[i + 3])
    local m = k .. '|' .. id
    if ARGV[i + 4] ~= '' then redis.call('ZADD', up .. s, ARGV[i + 4], m) end
    if ARGV[i + 5] ~= '' then redis.call('ZADD', down .. s, ARGV[i + 5], m) end
  end
end
if has_fired(rec) then redis.call('ZADD', KEYS[2], ARGV[1], id) else redis.call('ZREM', KEYS[2], id) end
return 1
`);

/** What an alert was set on: the rule, and the price now (a move's base; the reply's "now"). */
export interface AlertSpec {
  symbol: string;
  kind: AlertKind;
  level: number;
  urgent: boolean;
  price: number;
}

/** A fired alert as its feed send read it, and the price its message carried. */
export interface AlertSent {
  alert: Alert;
  price: number;
}

/** A move's triggers around a price: the prices `pct` percent above and below. */
export function moveTriggers(price: number, pct: number): { up: number; down: number } {
  return { up: price * (1 + pct / 100), down: price * (1 - pct / 100) };
}

/** The `need` ids with the lowest scores of per-partition flat (id, score) lists: ties in id order. */
function oldest(parts: readonly string[][], need: number): string[] {
  const all: { id: string; score: number }[] = [];
  for (const flat of parts) for (let i = 0; i + 1 < flat.length; i += 2) all.push({ id: flat[i]!, score: Number(flat[i + 1]) });
  all.sort(longestWaitingFirst);
  return all.slice(0, Math.max(0, need)).map((c) => c.id);
}

export class AlertStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /**
   * Sets (or replaces) one alert, making the person active: an opt-in, as a ticker is. The symbol
   * leaves their plain feed. Returns whether it was in it.
   */
  async set(channel: Channel, address: string, spec: AlertSpec, at = Date.now()): Promise<{ replacedFeed: boolean }> {
    const id = subscriberId(channel, address);
    const k = this.#keys;
    const p = duePartition(id);
    const triggers =
      spec.kind === 'move' ? moveTriggers(spec.price, spec.level) : spec.kind === 'above' ? { up: spec.level, down: undefined } : { up: undefined, down: spec.level };
    const value = encodeAlert({ state: 'armed', urgent: spec.urgent, level: spec.level, ...(spec.kind === 'move' ? { base: spec.price } : {}) });
    const had = await SET_SCRIPT.run(
      this.#redis,
      [k.subscriber(id), k.partitionSubscribers(channel, p), k.partitionActive(channel, p), k.alertsChecked(channel, p)],
      [
        id,
        at,
        channel,
        address,
        k.dueFollowersPrefix(channel, p),
        ...k.alertTriggersPrefixes(channel, p),
        spec.symbol,
        spec.kind,
        value,
        triggers.up ?? '',
        triggers.down ?? '',
        spec.price,
      ],
    );
    return { replacedFeed: had === 1 };
  }

  /** Removes the alerts on these symbols (none named: every alert). Returns how many went. */
  async remove(id: SubscriberId | string, symbols: readonly string[] = [], at = Date.now()): Promise<number> {
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const k = this.#keys;
    return (await REMOVE_SCRIPT.run(this.#redis, [k.subscriber(id)], [id, at, ...k.alertTriggersPrefixes(channel, p), ...symbols])) as number;
  }

  /** A subscriber's alerts, by symbol. */
  async list(id: SubscriberId | string): Promise<Alert[]> {
    return alertsOf(await this.#redis.hgetall(this.#keys.subscriber(id)));
  }

  /**
   * Fires the alerts of a channel's partitions that the prices crossed since they were last
   * checked: per partition, two range reads per symbol plus the work of each alert fired.
   * Returns how many fired.
   */
  async check(channel: Channel, prices: ReadonlyMap<string, number>, now = Date.now()): Promise<number> {
    const parts = await this.#check(channel, prices, 0, now);
    return parts.reduce((n, part) => n + part.fired, 0);
  }

  /** `check`, then `due`, in the same script per partition: what a refill does when the prices moved. */
  async checkThenDue(channel: Channel, prices: ReadonlyMap<string, number>, need: number, now = Date.now()): Promise<string[]> {
    return oldest((await this.#check(channel, prices, Math.max(0, need), now)).map((part) => part.due), need);
  }

  /** The `need` subscribers of a channel whose alert fired longest ago (or whose claim ran out), across partitions. Takes nobody: `claim` does. */
  async due(channel: Channel, need: number, now = Date.now()): Promise<string[]> {
    return this.checkThenDue(channel, new Map(), need, now);
  }

  /** Per partition (the check script with no prices only reads): how many fired, and (with `need`) its due subscribers and scores, flat. */
  async #check(channel: Channel, prices: ReadonlyMap<string, number>, need: number, now: number): Promise<{ fired: number; due: string[] }[]> {
    if (prices.size === 0 && need <= 0) return [];
    const pairs = [...prices].flatMap(([s, price]) => [s, String(price)]);
    const k = this.#keys;
    const done: { fired: number; due: string[] }[] = [];
    await Promise.all(
      partitionGroups(this.#redis, DUE_PARTITIONS).map(async (group) => {
        const fired = new Map<number, number>();
        // A partition with more to fire than a batch goes round again, alone with the others that have.
        for (let left = group; left.length > 0; ) {
          const results = (await CHECK_SCRIPT.run(
            this.#redis,
            left.flatMap((p) => [k.alertsChecked(channel, p), k.alertsDue(channel, p)]),
            [now, CHECK_BATCH, need, ...left.flatMap((p) => [...k.alertTriggersPrefixes(channel, p), k.subscriberPrefix(channel, p)]), ...pairs],
          )) as [number, number, string[]][];
          const again: number[] = [];
          left.forEach((p, i) => {
            const [n, more, due] = results[i]!;
            fired.set(p, (fired.get(p) ?? 0) + n);
            if (more === 0) done.push({ fired: fired.get(p)!, due });
            else again.push(p);
          });
          left = again;
        }
      }),
    );
    return done;
  }

  /** Holds these subscribers out of `due` until `until` (their feed send settles them sooner); only those still due. */
  async claim(ids: readonly string[], until: number): Promise<void> {
    const byPartition = new Map<string, string[]>();
    for (const id of ids) {
      const key = this.#keys.alertsDue(parseSubscriberId(id).channel, duePartition(id));
      byPartition.set(key, [...(byPartition.get(key) ?? []), id]);
    }
    await Promise.all([...byPartition].map(([key, group]) => this.#redis.zadd(key, 'XX', ...group.flatMap((id) => [until, id]))));
  }

  /**
   * After their feed send: the fired alerts it carried (or gave up on) are armed again around the
   * price sent (a move) or spent; due again only if another fired meanwhile.
   */
  async settle(id: string, sent: readonly AlertSent[], now = Date.now()): Promise<void> {
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const k = this.#keys;
    const settled = sent.flatMap(({ alert: a, price }) => {
      const was = encodeAlert(a);
      if (a.kind !== 'move') return [a.symbol, a.kind, was, encodeAlert({ ...a, state: 'spent' }), '', ''];
      const { up, down } = moveTriggers(price, a.level);
      return [a.symbol, a.kind, was, encodeAlert({ ...a, state: 'armed', base: price }), up, down];
    });
    await SETTLE_SCRIPT.run(this.#redis, [k.subscriber(id), k.alertsDue(channel, p)], [now, id, ...k.alertTriggersPrefixes(channel, p), ...settled]);
  }
}
