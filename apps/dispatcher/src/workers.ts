import { DelayedError, Worker, type Job } from 'bullmq';
import {
  CHANNELS,
  fanoutJobSchema,
  sendFetchLimiter,
  inboundMessageSchema,
  QUEUE,
  sendJobSchema,
  sendQueueName,
  statusUpdateSchema,
  type Channel,
  type Logger,
  type Redis,
  type RedisKeys,
  SendPacer,
} from '@tickercast/shared';
import type { createFanoutProcessor } from './fanout.ts';
import { ProviderBreaker } from './provider-breaker.ts';
import type { createInboundProcessor } from './inbound.ts';
import type { createSendProcessor } from './send.ts';
import type { createStatusProcessor } from './status.ts';

export interface WorkerDeps {
  connection: Redis;
  keys: RedisKeys;
  logger: Logger;
  concurrency: number;
  /** false: the workers take no job until their `run()`. */
  autorun: boolean;
  /** Sends per second per channel, shared by every dispatcher (each channel's schedule is in Redis). */
  rates: Record<Channel, number>;
  inbound: ReturnType<typeof createInboundProcessor>;
  fanout: ReturnType<typeof createFanoutProcessor>;
  send: ReturnType<typeof createSendProcessor>;
  status: ReturnType<typeof createStatusProcessor>;
}

/** One Worker per queue, sharing the caller's connection (BullMQ duplicates it for blocking reads). */
export function startWorkers(deps: WorkerDeps): Worker[] {
  const { connection, keys, logger, concurrency, autorun } = deps;
  const base = { connection, prefix: keys.queuePrefix, autorun };
  const workers: Worker[] = [];
  const pacer = new SendPacer(connection, keys, deps.rates);

  workers.push(
    new Worker(QUEUE.inbound, async (job: Job) => deps.inbound(inboundMessageSchema.parse(job.data), job.id!), { ...base, concurrency }),
    new Worker(QUEUE.fanout, async (job: Job) => deps.fanout(fanoutJobSchema.parse(job.data)), { ...base, concurrency: 4 }),
    new Worker(QUEUE.status, async (job: Job) => deps.status(statusUpdateSchema.parse(job.data)), { ...base, concurrency }),
  );

  for (const channel of CHANNELS) {
    const breaker = new ProviderBreaker();
    // Pause this channel's queue for `ms`; the job goes back without spending an attempt.
    const rest = async (ms: number): Promise<never> => {
      await worker.rateLimit(ms);
      throw Worker.RateLimitError();
    };
    const worker: Worker = new Worker(
      sendQueueName(channel),
      async (job: Job, token?: string) =>
        deps.send(sendJobSchema.parse(job.data), job.id!, {
          async pace() {
            const slot = await pacer.waitForSlot(channel);
            if ('waitedMs' in slot) return slot.waitedMs;
            // Every slot within reach is taken: rest until one is.
            return rest(slot.restMs);
          },
          providerAnswered() {
            if (breaker.answered()) logger.info({ channel }, 'provider answers again: sending resumes');
          },
          async providerFailed() {
            const wasOpen = breaker.open;
            const restMs = breaker.failed();
            if (restMs === undefined) return;
            if (!wasOpen) logger.warn({ channel }, 'provider looks down: resting the queue between probes, attempts are not spent');
            return rest(restMs);
          },
          rateLimited: rest,
          async deferUntil(at) {
            // The job keeps its deduplication id while delayed, so later ticks fold into it.
            await job.moveToDelayed(at, token);
            throw new DelayedError();
          },
        }),
      { ...base, concurrency, limiter: sendFetchLimiter(deps.rates[channel]) },
    );
    workers.push(worker);
  }

  for (const w of workers) {
    w.on('failed', (job, err) => {
      logger.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    w.on('error', (err) => logger.error({ queue: w.name, err }, 'worker error'));
  }
  return workers;
}
