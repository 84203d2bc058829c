import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError } from './errors.ts';

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
export async function withinDeadline<T>(redis: Redis, timeoutMs: number, work: () => Promise<T>): Promise<T> {
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

export type { Redis };
