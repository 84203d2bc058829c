import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import { RedisUnavailableError } from './errors.ts';

/** A connection to the one Redis at REDIS_URL, or to the Redis Cluster of REDIS_CLUSTER_NODES. */
export type RedisClient = Redis | Cluster;

/** What a connection needs from the configuration. */
export type RedisConfig = Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>;

/**
 * Options for connectRedis: a RedisOptions without the address (it comes from the configuration).
 * On a cluster they are every node connection's options, but for those a Cluster holds itself:
 * `retryStrategy` becomes its `clusterRetryStrategy` (reconnecting means the whole cluster), and
 * `lazyConnect`, `enableOfflineQueue`, `enableAutoPipelining` and `autoPipeliningIgnoredCommands`
 * apply to the Cluster.
 */
export type ConnectOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'sentinels' | 'name' | 'readOnly'>;

/** Waits between reconnection attempts: 200 ms more each time, at most 2 s. */
const retryStrategy = (times: number) => Math.min(times * 200, 2000);

/**
 * A new ioredis connection. Whoever calls this owns the connection and closes it.
 * `maxRetriesPerRequest: null` is what BullMQ workers require, and it suits every other use
 * here too: a command waits out a Redis restart instead of failing mid-job.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy,
    ...options,
  });
}

/**
 * A new connection as the configuration says: an ioredis Cluster when REDIS_CLUSTER_NODES is set,
 * else the one Redis at REDIS_URL (createRedis). Whoever calls this owns the connection and
 * closes it (closeRedis). `clusterOptions` are further Cluster options (natMap, scaleReads, …),
 * unused for a single Redis.
 */
export function connectRedis(config: RedisConfig, options: ConnectOptions = {}, clusterOptions: ClusterOptions = {}): RedisClient {
  if (!config.REDIS_CLUSTER_NODES) return createRedis(config.REDIS_URL, options);
  return createCluster(config.REDIS_CLUSTER_NODES, config.REDIS_URL, options, clusterOptions);
}

/**
 * An ioredis Cluster seeded with `nodes`, with createRedis's habits: every node connection has
 * `maxRetriesPerRequest: null` (what BullMQ requires, and it reads it from `redisOptions`) and the
 * ready check; the cluster reconnects as a single connection would. The user name, password and
 * TLS of `url` (`rediss://user:pass@…`) are every node's; its host and port are not used.
 *
 * A command meeting a primary that has just died is retried every `retryDelayOnFailover` (500 ms)
 * while the slots are refreshed, up to `maxRedirections` (16) times: about 8 s, time enough for a
 * replica to take over at a `cluster-node-timeout` of a few seconds. A longer timeout wants these
 * raised through `clusterOptions`. BullMQ on a cluster needs a queue prefix with a hash tag
 * (`{q}`), so that each queue's keys are in one slot.
 */
export function createCluster(
  nodes: readonly { host: string; port: number }[],
  url: string,
  options: ConnectOptions = {},
  clusterOptions: ClusterOptions = {},
): Cluster {
  const { retryStrategy: ownRetry, lazyConnect, enableOfflineQueue, enableAutoPipelining, autoPipeliningIgnoredCommands, ...nodeOptions } = options;
  const fromUrl = new URL(url);
  const lifted = Object.fromEntries(
    Object.entries({ lazyConnect, enableOfflineQueue, enableAutoPipelining, autoPipeliningIgnoredCommands }).filter(([, v]) => v !== undefined),
  ) as Partial<ClusterOptions>;
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      enableReadyCheck: true,
      clusterRetryStrategy: ownRetry === undefined ? retryStrategy : ownRetry === null ? null : (times) => ownRetry(times) ?? null,
      retryDelayOnFailover: 500,
      retryDelayOnClusterDown: 500,
      ...lifted,
      ...clusterOptions,
      redisOptions: {
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
        ...(fromUrl.username ? { username: decodeURIComponent(fromUrl.username) } : {}),
        ...(fromUrl.password ? { password: decodeURIComponent(fromUrl.password) } : {}),
        ...(fromUrl.protocol === 'rediss:' ? { tls: {} } : {}),
        ...nodeOptions,
        ...clusterOptions.redisOptions,
      },
    },
  );
}

/**
 * Every key matching `pattern`, a page at a time: SCAN on the one Redis, or on each primary of a
 * cluster in turn (a cluster's SCAN is one node's).
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (found.length > 0) yield found;
    } while (cursor !== '0');
  }
}

/**
 * The partitions 0…count−1 grouped as one script may touch them together: all at once on one
 * Redis, one at a time on a cluster (each partition is a hash tag of its own, and a script's keys
 * must share a slot). A read over every partition is then one script on one Redis.
 */
export function partitionGroups(redis: RedisClient, count: number): number[][] {
  const all = Array.from({ length: count }, (_, p) => p);
  return redis instanceof Cluster ? all.map((p) => [p]) : [all];
}

/** A new connection with the same options as `redis` (one node or a cluster): the caller's to close. */
export function duplicateRedis(redis: RedisClient): RedisClient {
  // Narrowed for the types only: the two classes' duplicate() signatures do not unify.
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
}

/** Closes a connection (a single Redis or a cluster's) politely, falling back to a hard disconnect if Redis is gone. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** Connection states in which a command would only wait in ioredis's offline queue for Redis to come back. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * Runs `work` on `redis` for a caller that must answer now (a webhook, a probe) rather than wait
 * out an outage, as every command does on these connections (`maxRetriesPerRequest: null`).
 * Throws a RedisUnavailableError at once when the connection is down, or when `work` has not
 * settled within `timeoutMs`: Redis went away mid-request. Work already sent still runs when
 * Redis is back (ioredis resends it), so it must be safe to repeat: a webhook's job has the
 * provider's id, and its retry is then a duplicate.
 */
export async function withinDeadline<T>(redis: RedisClient, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  if (DOWN.has(redis.status)) throw new RedisUnavailableError(`redis connection is ${redis.status}`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`no answer from redis within ${timeoutMs} ms (connection ${redis.status})`)), timeoutMs);
  });
  try {
    return await Promise.race([work(), deadline]);
  } catch (err) {
    // A command refused because the connection closed under it is the same failure.
    if (err instanceof RedisUnavailableError || !isConnectionError(err)) throw err;
    throw new RedisUnavailableError(`redis connection lost: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function isConnectionError(err: unknown): boolean {
  const message = (err as Error | undefined)?.message ?? '';
  return /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|Stream isn't writeable|MaxRetriesPerRequest/i.test(message);
}

export type { Cluster, Redis };
