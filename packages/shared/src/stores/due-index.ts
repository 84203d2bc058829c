import { partitionGroups, type RedisClient } from '../runtime/redis.ts';
import type { Channel } from '../channels.ts';
import { parseSubscriberId } from '../channels.ts';
import type { RedisKeys } from '../keys.ts';
import { DUE_PARTITIONS, duePartition } from '../partitions.ts';
import { LuaScript } from '../runtime/lua.ts';
import { LUA_HISTORY, type HistoryEntry } from './deliveries.ts';
import { LUA_SYMBOL_FIELDS } from './subscriptions.ts';

/*
 * Who is due a feed message, per channel, kept so that finding the next ones costs what is taken,
 * not what is held (the refill, apps/dispatcher/src/refill.ts, reads it at the channel's rate).
 *
 * Per (channel, partition) and symbol, a sorted set of the followers scored by when their last
 * feed send read the prices (or when they subscribed), by Redis' clock, to the µs. A follower is
 * due on a symbol when the symbol's price was written since (at or after: a read and a write in
 * the same µs cost one "unchanged" skip, never a missed price), so one write makes every follower
 * due at once, and taking the lowest scores first serves whoever waited longest: every read time
 * is its own, so there are no ties to break. A follower who is held has HELD_OFFSET added to
 * every score (out of any due range) and an entry in the held set, with when the hold ends: while
 * their feed send is queued (so nobody is queued twice while another due one waits), and while
 * their EVERY interval runs.
 *
 * A subscriber's partition is a hash of their id: each (channel, partition) is one hash tag,
 * ready for Redis Cluster; a refill reads all partitions of its channel and merges them.
 */

/**
 * Added to a held follower's scores: above any time (ms) until the year 2109, and small enough
 * that a held score keeps its µs (a double has 53 bits).
 */
export const HELD_OFFSET = 2 ** 42;

/*
 * Settles followers: takes their scores off hold, raises them to `served` (never lowering one:
 * GT; 0 leaves them as they are), then holds them again until `hold` if it is > 0, else ends their
 * hold. `settle_one` does one follower on the given due keys; `settle` reads ARGV from `first`:
 * key prefix, hold-until, offset, served, then the symbols, '', then the ids, up to `last` (or
 * ARGV's end), and returns where ARGV goes on after `last`. Only existing entries change: a
 * follower who left stays out.
 */
const LUA_SETTLE = `
local function settle_one(held, syms, hold, off, served, id)
  for _, k in ipairs(syms) do
    local s = redis.call('ZSCORE', k, id)
    if s then
      if tonumber(s) >= tonumber(off) then redis.call('ZINCRBY', k, '-' .. off, id) end
      if tonumber(served) > 0 then redis.call('ZADD', k, 'XX', 'GT', served, id) end
      if tonumber(hold) > 0 then redis.call('ZINCRBY', k, off, id) end
    end
  end
  if tonumber(hold) > 0 then redis.call('ZADD', held, hold, id) else redis.call('ZREM', held, id) end
end
local function settle(held, first, last)
  local prefix, hold, off, served = ARGV[first], ARGV[first + 1], ARGV[first + 2], ARGV[first + 3]
  local syms, i = {}, first + 4
  while ARGV[i] ~= '' do syms[#syms + 1] = prefix .. ARGV[i]; i = i + 1 end
  i = i + 1
  while i <= #ARGV and ARGV[i] ~= last do
    settle_one(held, syms, hold, off, served, ARGV[i])
    i = i + 1
  end
  return i + 1
end
`;

/*
 * Partitions of a channel (KEYS: the held set of each; one, or all of them on one Redis: see
 * partitionGroups): in each, ends the holds that are over, then takes the lowest `need` due
 * followers of each symbol, each as (id, score, symbol); with a claim time > 0, holds every
 * follower it found until then, as `claim` does (their scores as they were before it are what it
 * answers). ARGV: now, offset, need, claim-until (0: none), each partition's key prefix (as many
 * as KEYS), then symbol and when its price was last written in pairs. Numbers go back to Redis as
 * the strings they came in (a Lua number would be formatted with 14 digits, and the held scores
 * have 16).
 */
const DUE_SCRIPT = new LuaScript(`
${LUA_SETTLE}
local now, off, need, claim = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local first = 5 + #KEYS
local out = {}
for p = 1, #KEYS do
  local held, prefix = KEYS[p], ARGV[4 + p]
  local syms = {}
  for i = first, #ARGV, 2 do syms[#syms + 1] = prefix .. ARGV[i] end
  local freed = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(freed) do settle_one(held, syms, '0', off, '0', id) end
  local found = {}
  for i = first, #ARGV, 2 do
    local got = redis.call('ZRANGEBYSCORE', prefix .. ARGV[i], '-inf', ARGV[i + 1], 'WITHSCORES', 'LIMIT', 0, need)
    for j = 1, #got, 2 do
      out[#out + 1] = got[j]
      out[#out + 1] = got[j + 1]
      out[#out + 1] = ARGV[i]
      if not found[got[j]] then found[got[j]] = true; found[#found + 1] = got[j] end
    end
  end
  if tonumber(claim) > 0 then
    for _, id in ipairs(found) do settle_one(held, syms, claim, off, '0', id) end
  end
end
return out
`);

/* Settles followers (LUA_SETTLE, every ARGV). KEYS: the partition's held set. */
const SETTLE_SCRIPT = new LuaScript(`
${LUA_SETTLE}
settle(KEYS[1], 1, nil)
return 1
`);

/*
 * Settles one follower whose feed send went and writes what it carried, in one step: the message
 * goes into their history, and the prices they were sent into their record (set_last_sent).
 * KEYS: the partition's held set, their record, their history. ARGV: as LUA_SETTLE with one id,
 * '', the message's uuid, the history's bound and TTL, then symbol and `price|ms` in pairs.
 */
const SETTLE_SENT_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
${LUA_SETTLE}
${LUA_HISTORY}
local from = settle(KEYS[1], 1, '')
push_history(KEYS[3], ARGV[from], ARGV[from + 1], ARGV[from + 2])
set_last_sent(KEYS[2], from + 3)
return 1
`);

/*
 * Which symbols anyone in these partitions follows or watches: per symbol (ARGV after the count
 * and the prefixes), 1 when a key of it exists under any prefix, else 0. ARGV: how many prefixes,
 * the prefixes (each partition's followers and alert triggers), then the symbols.
 */
const FOLLOWED_SCRIPT = new LuaScript(`
local n = tonumber(ARGV[1])
local out = {}
for i = n + 2, #ARGV do
  local found = 0
  for j = 2, n + 1 do
    if redis.call('EXISTS', ARGV[j] .. ARGV[i]) == 1 then found = 1; break end
  end
  out[#out + 1] = found
end
return out
`);

/** A due follower, and the symbols the scan found them due on. */
export interface DueFollower {
  id: string;
  symbols: string[];
}

/** A due follower as the scan found them: the lowest score over their due symbols. */
interface Candidate extends DueFollower {
  score: number;
}

/** The order the due are taken in: who waited longest (lowest score) first, ties in id order. */
export function longestWaitingFirst(a: { id: string; score: number }, b: { id: string; score: number }): number {
  return a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class DueIndex {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /**
   * The `need` due followers on `channel` who waited longest, across all partitions, given when
   * each symbol's price was last written (PriceCache.writeTimes). Ends the holds that are over on
   * the way. Takes nobody (the caller claims them, `claim`, then enqueues them), unless given
   * `claimUntil`: then each partition claims what it found in the same script, a round trip less
   * for a caller who expects to take everyone due, and those the merge leaves out (when more than
   * `need` were due) are let go again, exactly as they were (nothing held them: they were due).
   */
  async due(channel: Channel, written: ReadonlyMap<string, string | number>, need: number, now = Date.now(), claimUntil = 0): Promise<string[]> {
    return (await this.dueOn(channel, written, need, now, claimUntil)).map((f) => f.id);
  }

  /** `due`, with the symbols each follower was found due on (of those scanned: at most `need` per symbol and partition). */
  async dueOn(channel: Channel, written: ReadonlyMap<string, string | number>, need: number, now = Date.now(), claimUntil = 0): Promise<DueFollower[]> {
    if (need <= 0 || written.size === 0) return [];
    const pairs = [...written].flatMap(([s, t]) => [s, String(t)]);
    const k = this.#keys;
    const parts = await Promise.all(
      partitionGroups(this.#redis, DUE_PARTITIONS).map(
        (group) =>
          DUE_SCRIPT.run(
            this.#redis,
            group.map((p) => k.dueHeld(channel, p)),
            [now, HELD_OFFSET, need, claimUntil, ...group.map((p) => k.dueFollowersPrefix(channel, p)), ...pairs],
          ) as Promise<string[]>,
      ),
    );
    const best = new Map<string, Candidate>();
    for (const flat of parts) {
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const id = flat[i]!;
        const score = Number(flat[i + 1]);
        const seen = best.get(id);
        if (!seen) best.set(id, { id, score, symbols: [flat[i + 2]!] });
        else {
          seen.score = Math.min(seen.score, score);
          seen.symbols.push(flat[i + 2]!);
        }
      }
    }
    const candidates = [...best.values()];
    candidates.sort(longestWaitingFirst);
    const left = candidates.slice(need).map((c) => c.id);
    if (claimUntil > 0 && left.length > 0) await this.settle(left, written.keys(), 0);
    return candidates.slice(0, need).map(({ id, symbols }) => ({ id, symbols }));
  }

  /**
   * Which of `symbols` anyone on `channel` follows, or holds an alert on: those whose moves may
   * make someone there due. One script per partition group (one on one Redis), named by the
   * group's held sets (so that a cluster routes it to their slot).
   */
  async followed(channel: Channel, symbols: readonly string[]): Promise<Set<string>> {
    if (symbols.length === 0) return new Set();
    const k = this.#keys;
    const parts = await Promise.all(
      partitionGroups(this.#redis, DUE_PARTITIONS).map((group) => {
        const prefixes = group.flatMap((p) => [k.dueFollowersPrefix(channel, p), ...k.alertTriggersPrefixes(channel, p)]);
        return FOLLOWED_SCRIPT.run(this.#redis, group.map((p) => k.dueHeld(channel, p)), [prefixes.length, ...prefixes, ...symbols]) as Promise<number[]>;
      }),
    );
    return new Set(symbols.filter((_, i) => parts.some((found) => found[i] === 1)));
  }

  /**
   * Holds followers whose feed send was just queued, until it settles them, or until `until` if it
   * never does (a job lost for good): meanwhile they are not due, whatever ticks come, so nobody
   * is queued twice before everyone due was once.
   */
  async claim(ids: readonly string[], symbols: Iterable<string>, until: number): Promise<void> {
    await this.settle(ids, symbols, 0, until);
  }

  /**
   * After a feed send (sent or not): their scores on `symbols` raised to `served`, when the send
   * read the prices (0 leaves them), so they are due again only on a price written since; held
   * until `holdUntil` if given (EVERY), else free. Settling names all their symbols: each score
   * held for the claim comes back.
   */
  async settle(ids: readonly string[], symbols: Iterable<string>, served: string | number, holdUntil = 0): Promise<void> {
    if (ids.length === 0) return;
    const byPartition = new Map<string, { channel: Channel; p: number; ids: string[] }>();
    for (const id of ids) {
      const channel = parseSubscriberId(id).channel;
      const p = duePartition(id);
      const key = `${channel}:${p}`;
      let group = byPartition.get(key);
      if (!group) byPartition.set(key, (group = { channel, p, ids: [] }));
      group.ids.push(id);
    }
    const names = [...symbols];
    const k = this.#keys;
    await Promise.all(
      [...byPartition.values()].map(({ channel, p, ids: group }) =>
        SETTLE_SCRIPT.run(this.#redis, [k.dueHeld(channel, p)], [k.dueFollowersPrefix(channel, p), holdUntil, HELD_OFFSET, served, ...names, '', ...group]),
      ),
    );
  }

  /**
   * `settle` of one follower whose feed send went, with what it carried written in the same script
   * (`sent.lastSent`: symbol and `price|ms` in pairs, LastSentPrices' fields; `sent.history`: the
   * message's history entry, DeliveryLog.historyEntry): no refill can find them free while their
   * record still has the prices before it, and the turn's end is one script, not three.
   */
  async settleSent(id: string, symbols: Iterable<string>, served: string | number, holdUntil: number, sent: { lastSent: readonly string[]; history: HistoryEntry }): Promise<void> {
    const { channel } = parseSubscriberId(id);
    const p = duePartition(id);
    const k = this.#keys;
    const h = sent.history;
    await SETTLE_SENT_SCRIPT.run(
      this.#redis,
      [k.dueHeld(channel, p), k.subscriber(id), h.key],
      [k.dueFollowersPrefix(channel, p), holdUntil, HELD_OFFSET, served, ...symbols, '', id, '', h.uuid, h.bound, h.ttlS, ...sent.lastSent],
    );
  }
}
