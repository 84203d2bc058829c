import { Worker, type Job } from 'bullmq';
import type { MessagesError } from '@tickercast/messages-client';
import {
  CHANNELS,
  fanoutJobSchema,
  sendFetchLimiter,
  inboundMessageSchema,
  isFeedSend,
  QUEUE,
  sendJobSchema,
  sendQueueName,
  statusUpdateSchema,
  type Channel,
  type Logger,
  type RedisClient,
  type RedisKeys,
  FeedFloor,
  failoverLegId,
  ProviderStatus,
  SendPacer,
  type SendWindow,
} from '@tickercast/shared';
import type { createFanoutProcessor } from './fanout.ts';
import type { createInboundProcessor } from './inbound.ts';
import { JobFailure } from './job-failure.ts';
import { ProviderBreaker } from './provider-breaker.ts';
import type { createSendProcessor, RefusalReason, SkipReason } from './send.ts';
import type { createStatusProcessor } from './status.ts';

export interface WorkerDeps {
  connection: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Jobs in progress at once per queue; a channel's send partitions share it between them. */
  concurrency: number;
  /** SEND_PARTITIONS: each channel's send queues, each with a worker here. */
  sendPartitions: number;
  /** false: the workers take no job until their `run()`. */
  autorun: boolean;
  /** Which dispatcher took a job: BullMQ keeps it with the job (`processedBy`, shown by Bull Board). */
  name: string;
  /** Sends per second per channel, shared by every dispatcher (each channel's schedule is in Redis). */
  rates: Record<Channel, number>;
  /** REPLY_RATE_SHARE: the share of a channel's sends replies take while they wait; the feed keeps the rest. */
  replyShare: number;
  /** Each channel's window at the provider, whose places come with the send slots (the send processor's client gives them back when answered). */
  window: SendWindow;
  /** Puts the next waiting feed update of a channel's send partition at the head of its queue, if one waits (FeedFloor). */
  promoteFeed: (channel: Channel, partition: number) => Promise<void>;
  /** A feed send of the channel, begun at `startedAt` (performance.now()), settled its subscriber in the due index (the refill may have them due again). */
  feedSettled: (channel: Channel, startedAt: number) => void;
  inbound: ReturnType<typeof createInboundProcessor>;
  fanout: ReturnType<typeof createFanoutProcessor>;
  send: ReturnType<typeof createSendProcessor>;
  status: ReturnType<typeof createStatusProcessor>;
}

/** What a finished send job keeps as its return value (Bull Board shows it; metrics count `sent`). */
export type SendResult = { sent: true; messageUuid: string; text: string; tickedAt?: number } | { sent: false; reason: SkipReason };

/** Enough of a zod schema to check a job's data with. */
interface JobSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** A job whose data is not what its queue carries will never be: it fails at once, not after every retry. */
function jobData<T>(schema: JobSchema<T>, job: Job): T {
  const parsed = schema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(data)'}: ${i.message}`);
  throw new JobFailure('invalid_job', `invalid job data: ${issues.join('; ')}`);
}

/**
 * A send's id on its channel: its job's id, which the window's place, the message's client_ref
 * and the delivery log know it by. Job ids are counters per queue, so past the first partition
 * the partition is part of it: job 57 of two partitions of a channel are two sends.
 */
export function sendIdOf(jobId: string, partition: number): string {
  return partition === 0 ? jobId : `${jobId}@${partition}`;
}

/** A refused send fails for good: its message tells whoever reads the failed job what happened; metrics read `reason`. */
function refusal(reason: RefusalReason, error: MessagesError): JobFailure {
  if (reason === 'recipient-unreachable') return new JobFailure('recipient_unreachable', `recipient unreachable, unsubscribed: ${error.message}`);
  return new JobFailure(error.name, `${error.name}: ${error.message}`);
}

/**
 * How long an open breaker's mark outlives the rest that follows it: the next probe renews it long
 * before, while the mark of a dispatcher that died goes soon after.
 */
export const BREAKER_MARK_GRACE_MS = 10_000;

/**
 * One Worker per queue, sharing the caller's connection (BullMQ duplicates it for blocking reads):
 * inbound, fan-out, status, and every send partition of every channel. A channel's partitions
 * share its schedule and window (one pace per channel, whatever the partitions) and its breaker.
 */
export function startWorkers(deps: WorkerDeps): Worker[] {
  const { connection, keys, logger, concurrency, autorun, name } = deps;
  const base = (queue: string) => ({ connection, prefix: keys.queuePrefix(queue), autorun, name });
  const workers: Worker[] = [];
  const pacer = new SendPacer(deps.window, deps.rates);
  const floor = new FeedFloor(connection, keys, deps.rates, deps.replyShare);
  const providerStatus = new ProviderStatus(connection, keys);
  // The marks only inform the dashboard: a Redis hiccup writing one must not change a job's fate.
  const markFailed = (err: unknown) => logger.warn({ err }, 'provider breaker mark not written');

  workers.push(
    new Worker(QUEUE.inbound, async (job: Job) => deps.inbound(jobData(inboundMessageSchema, job), job.id!), { ...base(QUEUE.inbound), concurrency }),
    new Worker(QUEUE.fanout, async (job: Job) => deps.fanout(jobData(fanoutJobSchema, job)), { ...base(QUEUE.fanout), concurrency: 4 }),
    new Worker(QUEUE.status, async (job: Job) => deps.status(jobData(statusUpdateSchema, job)), { ...base(QUEUE.status), concurrency }),
  );

  const partitions = deps.sendPartitions;
  for (const channel of CHANNELS) {
    const breaker = new ProviderBreaker();
    let openSince = 0;
    const providerAnswered = async () => {
      if (!breaker.answered()) return;
      logger.info({ channel }, 'provider answers again: sending resumes');
      await providerStatus.closed(channel).catch(markFailed);
    };
    for (let partition = 0; partition < partitions; partition++) {
      // Pause this partition's queue for `ms`; the job goes back without spending an attempt.
      const rest = async (ms: number): Promise<never> => {
        await worker.rateLimit(ms);
        throw Worker.RateLimitError();
      };
      const worker: Worker = new Worker(
        sendQueueName(channel, partition),
        async (job: Job): Promise<SendResult> => {
          const startedAt = performance.now();
          const feed = isFeedSend(job.name);
          const sendId = sendIdOf(job.id!, partition);
          const data = jobData(sendJobSchema, job);
          // A feed update's slot marks the floor's clock as it is taken, in the same script.
          const mark = feed ? floor.mark(channel) : undefined;
          // A feed send asks for its slot as it starts, beside its reads, while the channel has slots to spare.
          const early = feed ? pacer.early(channel, sendId, mark) : undefined;
          let legOn: Channel | undefined;
          const pace = async (failoverOn?: Channel) => {
            // Replies have had every send for too long: the next feed update goes right after this one.
            if (!feed && (await floor.owed(channel))) await deps.promoteFeed(channel, partition);
            if (failoverOn) {
              // The failover leg's slot on its own channel first, taken now and not waited for: if that
              // channel is full, this send rests as if its own were (a wasted reservation only slows).
              legOn = failoverOn;
              const legWait = await pacer.reserve(failoverOn, failoverLegId(sendId));
              if (legWait < 0) return { restMs: Math.ceil(-legWait) };
            }
            return early ? early.take() : pacer.waitForSlot(channel, sendId, mark);
          };
          // A slot whose send did not go (skipped, STOP meanwhile, a throw) gives its place back; one that went already has.
          const outcome = await deps.send(data, sendId, pace).finally(async () => {
            await early?.settled();
            deps.window.release(channel, sendId);
            if (legOn) deps.window.release(legOn, failoverLegId(sendId));
          });
          switch (outcome.kind) {
            case 'sent':
              if (feed) deps.feedSettled(channel, startedAt);
              await providerAnswered();
              return { sent: true, messageUuid: outcome.messageUuid, text: outcome.text, ...(outcome.tickedAt !== undefined && { tickedAt: outcome.tickedAt }) };
            case 'skipped':
              return { sent: false, reason: outcome.why };
            case 'no-slot':
              return rest(outcome.restMs);
            case 'rate-limited':
              return rest(outcome.retryAfterMs);
            case 'provider-down': {
              const wasOpen = breaker.open;
              const restMs = breaker.failed();
              // Not down yet by the breaker's count: this failure spends an attempt and backs off.
              if (restMs === undefined) throw outcome.error;
              if (!wasOpen) {
                openSince = Date.now();
                logger.warn({ channel }, 'provider looks down: resting the queue between probes, attempts are not spent');
              }
              await providerStatus.opened(channel, openSince, restMs + BREAKER_MARK_GRACE_MS).catch(markFailed);
              return rest(restMs);
            }
            case 'refused':
              await providerAnswered();
              throw refusal(outcome.reason, outcome.error);
          }
        },
        {
          ...base(sendQueueName(channel, partition)),
          concurrency: Math.ceil(concurrency / partitions),
          limiter: sendFetchLimiter(deps.rates[channel] / partitions),
        },
      );
      workers.push(worker);
    }
  }

  for (const w of workers) {
    w.on('failed', (job, err) => {
      logger.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    w.on('error', (err) => logger.error({ queue: w.name, err }, 'worker error'));
  }
  return workers;
}
