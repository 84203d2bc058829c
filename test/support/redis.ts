import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { closeRedis, connectRedis, loadConfig, redisKeys, scanKeys, type ConnectOptions, type RedisClient, type RedisKeys } from '@tickercast/shared';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The seeds of a Redis Cluster the tests of this project run on ('' or unset: one Redis at redisUrl). */
    redisClusterNodes?: string;
  }
}

export function redisUrl(): string {
  return inject('redisUrl');
}

/** The environment that points a process, or loadConfig, at the tests' Redis: one, or the project's cluster. */
export function redisEnv(): Record<string, string> {
  const nodes = inject('redisClusterNodes');
  return nodes ? { REDIS_CLUSTER_NODES: nodes } : { REDIS_URL: redisUrl() };
}

/** True when this project's tests run on a Redis Cluster. */
export function onCluster(): boolean {
  return Boolean(inject('redisClusterNodes'));
}

/** A new connection to the tests' Redis (a Cluster on the cluster project). The caller closes it. */
export function testConnection(options: ConnectOptions = {}): RedisClient {
  return connectRedis(loadConfig(redisEnv()), options);
}

/** A namespace no other test uses, so test files can share one redis-server. */
export function testNamespace(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export interface TestRedis {
  redis: RedisClient;
  namespace: string;
  keys: RedisKeys;
  /** Deletes every key of this namespace and closes the connection. */
  cleanup(): Promise<void>;
}

export function testRedis(): TestRedis {
  const namespace = testNamespace();
  const redis = testConnection();
  return {
    redis,
    namespace,
    keys: redisKeys(namespace, { cluster: onCluster() }),
    async cleanup() {
      // One key at a time: on a cluster they are in many slots.
      for await (const found of scanKeys(redis, `${namespace}:*`)) await Promise.all(found.map((k) => redis.unlink(k)));
      await closeRedis(redis);
    },
  };
}
