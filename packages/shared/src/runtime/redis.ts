import { Redis, type RedisOptions } from 'ioredis';

/**
 * A new ioredis connection. Whoever calls this owns the connection and closes it.
 * `maxRetriesPerRequest: null` is what BullMQ workers require, and it suits every other use
 * here too: a command waits out a Redis restart instead of failing mid-job.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...options,
  });
}

/** Closes a connection politely, falling back to a hard disconnect if Redis is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

export type { Redis };
