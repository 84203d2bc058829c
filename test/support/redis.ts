import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createRedis, redisKeys, type Redis, type RedisKeys } from '@tickercast/shared';

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A namespace no other test uses, so test files can share one redis-server. */
export function testNamespace(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export interface TestRedis {
  redis: Redis;
  namespace: string;
  keys: RedisKeys;
  /** Deletes every key of this namespace and closes the connection. */
  cleanup(): Promise<void>;
}

export function testRedis(): TestRedis {
  const namespace = testNamespace();
  const redis = createRedis(redisUrl());
  return {
    redis,
    namespace,
    keys: redisKeys(namespace),
    async cleanup() {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
        cursor = next;
        if (found.length > 0) await redis.unlink(...found);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}
