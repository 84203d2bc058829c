import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger, RedisClient } from '@tickercast/shared';

/**
 * After Redis comes back, wakes every worker that sleeps in a blocking wait, so that a delayed
 * job (a tick's fan-out, an EVERY deferral, a paced reply) due meanwhile runs now.
 *
 * Why: an idle BullMQ (6.7) worker that knows the next delayed job waits on the queue's marker
 * with BZPOPMIN, its timeout set to that job's due time, having already taken the job's marker.
 * When Redis restarts, ioredis re-sends that BZPOPMIN on the new connection with the same
 * timeout, now counted from the re-send: nothing will be pushed to the marker for the job that is
 * already delayed, so the worker sleeps past the due time until BullMQ's watchdog gives up on the
 * command (its timeout plus a second: with a bare worker and a job due 0.3–3 s after Redis
 * answered again, it ran 1.0 s late every time; with this wake-up, 30–110 ms). A marker of our own on
 * each queue (score 0: "look now", as BullMQ's own for a waiting job) answers the re-sent wait at
 * once: the worker fetches, which promotes every due delayed job, and waits again for the next.
 * A marker that finds no worker waiting costs one extra fetch.
 */
export function wakeWorkersOnReconnect(redis: RedisClient, queues: Queue[], logger: Logger): () => void {
  const member = `wake-${randomUUID()}`;
  let connectedBefore = redis.status === 'ready';
  const onReady = () => {
    if (!connectedBefore) {
      connectedBefore = true;
      return;
    }
    logger.info('redis is back: waking the workers for delayed jobs due meanwhile');
    for (const q of queues) redis.zadd(q.keys.marker!, 0, member).catch((err: unknown) => logger.warn({ err, queue: q.name }, 'worker wake-up not written'));
  };
  redis.on('ready', onReady);
  return () => redis.off('ready', onReady);
}
