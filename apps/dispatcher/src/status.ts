import type { Logger, Redis, RedisKeys, StatusUpdate } from '@tickercast/shared';

/** Delivery reports: counted per channel and state. Fuller tracking (per-message state, history) builds on this. */
export function createStatusProcessor(deps: { redis: Redis; keys: RedisKeys; logger: Logger }) {
  return async (update: StatusUpdate): Promise<void> => {
    await deps.redis.hincrby(deps.keys.deliveryCounts, `${update.channel}:${update.status}`, 1);
    if (update.error) deps.logger.info({ channel: update.channel, status: update.status, error: update.error }, 'delivery failed');
  };
}
