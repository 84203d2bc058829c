import {
  DUE_LAYOUT,
  DUE_PARTITIONS,
  duePartition,
  parseSubscriberId,
  releaseLease,
  takeLease,
  type Logger,
  type Redis,
  type RedisKeys,
} from '@tickercast/shared';

/** How long a build may hold its lock before another dispatcher may take over (it renews it per page). */
const BUILD_LOCK_MS = 30_000;
const PAGE = 1000;

async function unlinkMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
}

/**
 * Builds the due index from the subscriptions when this Redis has none of this layout yet (the
 * first start after an upgrade, or a changed DUE_PARTITIONS): every active subscriber's symbols,
 * scored by when they were last sent each (0 if never), so nobody waits on a tick that came
 * before. Idempotent (ZADD NX) and run by one dispatcher at a time; the others go on at once, and
 * anyone the build has not reached yet is simply not due until it has.
 */
export async function ensureDueIndex(redis: Redis, keys: RedisKeys, logger: Logger): Promise<{ built: boolean; subscribers: number }> {
  if ((await redis.get(keys.dueLayout)) === DUE_LAYOUT) return { built: false, subscribers: 0 };
  const token = await takeLease(redis, keys.dueBuildLock, BUILD_LOCK_MS);
  if (!token) {
    logger.info('another dispatcher is building the due index');
    return { built: false, subscribers: 0 };
  }
  const started = Date.now();
  let count = 0;
  try {
    const previous = await redis.get(keys.dueLayout);
    if (previous !== null) {
      // Another layout (partition count): its keys would never be read again.
      await unlinkMatching(redis, keys.dueIndexPattern);
    }
    logger.info({ from: previous, to: DUE_LAYOUT, partitions: DUE_PARTITIONS }, 'building the due index from the subscriptions');
    let cursor = '0';
    do {
      const [next, ids] = await redis.sscan(keys.subscribers, cursor, 'COUNT', PAGE);
      cursor = next;
      if (ids.length === 0) continue;
      const read = redis.pipeline();
      for (const id of ids) read.hget(keys.subscriber(id), 'status').smembers(keys.subscriberSymbols(id)).hgetall(keys.subscriberLastSent(id));
      const results = (await read.exec()) ?? [];
      const write = redis.pipeline();
      ids.forEach((id, i) => {
        const [[, status], [, symbols], [, lastSent]] = results.slice(i * 3, i * 3 + 3) as [[null, string | null], [null, string[]], [null, Record<string, string>]];
        if (status === 'stopped' || symbols.length === 0) return;
        let channel;
        try {
          channel = parseSubscriberId(id).channel;
        } catch {
          return; // not a channel this version serves
        }
        const p = duePartition(id);
        for (const s of symbols) {
          const at = Number(lastSent[s]?.split('|')[1] ?? 0) || 0;
          write.zadd(keys.dueFollowers(channel, p, s), 'NX', at, id);
        }
        count++;
      });
      write.pexpire(keys.dueBuildLock, BUILD_LOCK_MS);
      await write.exec();
    } while (cursor !== '0');
    await redis.set(keys.dueLayout, DUE_LAYOUT);
    // The per-symbol sets of earlier versions: the index replaced them.
    await unlinkMatching(redis, keys.legacySymbolSubscribersPattern);
    logger.info({ subscribers: count, ms: Date.now() - started }, 'due index built');
    return { built: true, subscribers: count };
  } finally {
    await releaseLease(redis, keys.dueBuildLock, token);
  }
}
