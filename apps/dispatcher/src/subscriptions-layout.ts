import {
  DUE_PARTITIONS,
  duePartition,
  LUA_SYMBOL_FIELDS,
  LuaScript,
  parseSubscriberId,
  parseSubscriberKey,
  releaseLease,
  SUBSCRIPTIONS_LAYOUT,
  SYMBOL_FIELD,
  symbolsOf,
  scanKeys,
  takeLease,
  CHANNELS,
  type Logger,
  type RedisClient,
  type RedisKeys,
} from '@tickercast/shared';

/** How long a move may hold its lock before another dispatcher may take over (it renews it per page). */
const LOCK_MS = 30_000;
const PAGE = 500;

/*
 * Merges one subscriber's state, read from where an earlier layout kept it, into their record
 * where this layout keeps it, and puts them in the due index if they are active. Whatever the
 * record already holds wins (a person who wrote since the upgrade began), but the earliest
 * createdAt: so a move that is interrupted and run again changes nothing twice.
 * KEYS: the record, its partition's all and active sets. ARGV: id, the partition's index prefix,
 * then field and value pairs of the old record, '', then symbol and last-sent pairs.
 */
const MERGE_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
local i = 3
while ARGV[i] ~= '' do
  local f, v = ARGV[i], ARGV[i + 1]
  if f == 'createdAt' then
    local now = redis.call('HGET', KEYS[1], 'createdAt')
    if not now or tonumber(v) < tonumber(now) then redis.call('HSET', KEYS[1], f, v) end
  else
    redis.call('HSETNX', KEYS[1], f, v)
  end
  i = i + 2
end
for j = i + 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], sym_field(ARGV[j]), ARGV[j + 1]) end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'status') == 'stopped' then return 0 end
redis.call('SADD', KEYS[3], ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
for j = 1, #flat, 2 do
  local s = symbol_of(flat[j])
  if s then
    local at = tonumber(string.match(flat[j + 1], '|(%d+)$') or '0') or 0
    redis.call('ZADD', ARGV[2] .. s, 'NX', at, ARGV[1])
  end
end
return 1
`);

/*
 * After a merge: removes a record that sat in a partition it no longer belongs to, with its
 * entries there. KEYS: the old record, its partition's all, active and held sets. ARGV: id, the
 * old partition's index prefix.
 */
const DROP_SCRIPT = new LuaScript(`
${LUA_SYMBOL_FIELDS}
for _, s in ipairs(symbols_of(KEYS[1])) do redis.call('ZREM', ARGV[2] .. s, ARGV[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`);

async function unlinkMatching(redis: RedisClient, pattern: string): Promise<void> {
  // One key at a time: the keys found may be in different slots of a cluster.
  for await (const found of scanKeys(redis, pattern)) await Promise.all(found.map((key) => redis.unlink(key)));
}

type OldState = { record: Record<string, string>; lastSent: Record<string, string>; symbols: string[] };

async function merge(redis: RedisClient, keys: RedisKeys, id: string, old: OldState): Promise<boolean> {
  let channel;
  try {
    channel = parseSubscriberId(id).channel;
  } catch {
    return false; // not a channel this version serves
  }
  const p = duePartition(id);
  const fields = Object.entries(old.record).flat();
  const symbols = old.symbols.flatMap((s) => [s, old.lastSent[s] ?? '']);
  await MERGE_SCRIPT.run(redis, [keys.subscriber(id), keys.partitionSubscribers(channel, p), keys.partitionActive(channel, p)], [id, keys.dueFollowersPrefix(channel, p), ...fields, '', ...symbols]);
  return true;
}

/**
 * Moves the subscriptions of a Redis into this version's layout when they are in another (the
 * first start after an upgrade, or a changed DUE_PARTITIONS): layout v1's three keys per
 * subscriber under {subs} become one record under their partition, and records in a partition
 * they no longer belong to move to theirs, each with their place in the due index (scored by when
 * they were last sent each symbol, 0 if never, so nobody waits on a tick that came before).
 *
 * Each subscriber is merged into their new record first and removed from the old place after, so
 * a move stopped half-way (a killed dispatcher) leaves them in both, and the next dispatcher's run
 * merges them again, which changes nothing, and removes them. Run by one dispatcher at a time;
 * the others go on at once, and anyone the move has not reached yet is simply not due until it has.
 */
export async function ensureSubscriptionsLayout(redis: RedisClient, keys: RedisKeys, logger: Logger): Promise<{ moved: boolean; subscribers: number }> {
  if ((await redis.get(keys.subscriptionsLayout)) === SUBSCRIPTIONS_LAYOUT) return { moved: false, subscribers: 0 };
  const token = await takeLease(redis, keys.layoutLock, LOCK_MS);
  if (!token) {
    logger.info('another dispatcher is moving the subscriptions to this layout');
    return { moved: false, subscribers: 0 };
  }
  const started = Date.now();
  let count = 0;
  try {
    const previous = await redis.get(keys.subscriptionsLayout);
    logger.info({ from: previous, to: SUBSCRIPTIONS_LAYOUT, partitions: DUE_PARTITIONS }, 'moving the subscriptions to this layout');

    // Layout v1 (and before): a record, a symbol set and a last-sent hash per subscriber, under {subs}.
    const legacy = keys.legacy;
    let cursor = '0';
    do {
      const [next, ids] = await redis.sscan(legacy.all, cursor, 'COUNT', PAGE);
      cursor = next;
      if (ids.length === 0) continue;
      const read = redis.pipeline();
      for (const id of ids) read.hgetall(legacy.subscriber(id)).smembers(legacy.symbols(id)).hgetall(legacy.lastSent(id));
      const results = (await read.exec()) ?? [];
      for (const [i, id] of ids.entries()) {
        const [[, record], [, symbols], [, lastSent]] = results.slice(i * 3, i * 3 + 3) as [[null, Record<string, string>], [null, string[]], [null, Record<string, string>]];
        if (Object.keys(record).length === 0 && symbols.length === 0) continue;
        if (await merge(redis, keys, id, { record, symbols, lastSent })) count++;
      }
      await redis.unlink(...ids.flatMap((id) => [legacy.subscriber(id), legacy.symbols(id), legacy.lastSent(id)]));
      await redis.pexpire(keys.layoutLock, LOCK_MS);
    } while (cursor !== '0');

    // Records in a partition they no longer belong to.
    for await (const found of scanKeys(redis, keys.subscriberPattern)) {
      for (const key of found) {
        const at = parseSubscriberKey(key);
        if (!at || key === keys.subscriber(at.id)) continue;
        const record = await redis.hgetall(key);
        const symbols = symbolsOf(record);
        const lastSent = Object.fromEntries(symbols.map((s) => [s, record[SYMBOL_FIELD + s]!]));
        for (const s of symbols) delete record[SYMBOL_FIELD + s];
        if (await merge(redis, keys, at.id, { record, symbols, lastSent })) count++;
        const { channel, partition: p } = at;
        await DROP_SCRIPT.run(redis, [key, keys.partitionSubscribers(channel, p), keys.partitionActive(channel, p), keys.dueHeld(channel, p)], [at.id, keys.dueFollowersPrefix(channel, p)]);
      }
      await redis.pexpire(keys.layoutLock, LOCK_MS);
    }

    await redis.set(keys.subscriptionsLayout, SUBSCRIPTIONS_LAYOUT);
    await redis.unlink(legacy.all, ...CHANNELS.map((c) => legacy.active(c)));
    await unlinkMatching(redis, legacy.symbolSubscribersPattern);
    logger.info({ subscribers: count, ms: Date.now() - started }, 'subscriptions moved to this layout');
    return { moved: true, subscribers: count };
  } finally {
    await releaseLease(redis, keys.layoutLock, token);
  }
}
