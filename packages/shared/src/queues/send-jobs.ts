/**
 * Every send job's name, data, id and options, built here and nowhere else: the refill (the
 * feed), the fan-out (broadcasts), the replies to people (commands, signup confirmations) and the admin
 * API all call these, so that what makes a send unique (its id or its deduplication key) and
 * where it stands in line (its priority) is decided in one place.
 */
import type { JobsOptions } from 'bullmq';
import { FEED_PRIORITY, jobIdPart, type SendJob } from './queues.ts';

/**
 * The names of the jobs that are the feed rather than a reply to a person: feed sends, the
 * per-symbol price sends an earlier version may have left queued, and broadcasts.
 */
const FEED_JOB_NAMES: ReadonlySet<string> = new Set(['feed', 'price', 'broadcast']);

/** Whether a send job (by its name) is the feed, which replies to people go ahead of. */
export function isFeedSend(jobName: string): boolean {
  return FEED_JOB_NAMES.has(jobName);
}

export interface SendJobSpec {
  name: string;
  data: SendJob;
  opts: JobsOptions;
}

/**
 * A subscriber's turn in the feed: one message with every ticker of theirs that changed, read
 * when it runs. Made by the refill (apps/dispatcher/src/refill.ts) for subscribers who are due.
 * Deduplicated per subscriber: while one is waiting no other is added, and one added while
 * another is being sent is kept and queued after it (keepLastIfActive, which BullMQ honours in its
 * `replace` mode only; what `replace` replaces is a job waiting out a retry's backoff, by one that
 * runs now). So the final prices always go out. Feed priority: replies to people go first.
 * `symbols`: those the refill found them due on, whose prices the send reads beside their record
 * (a hint: it reads any other of theirs after).
 */
export function feedSend(subscriberId: string, symbols?: readonly string[]): SendJobSpec {
  return {
    name: 'feed',
    data: { kind: 'feed', subscriberId, ...(symbols && symbols.length > 0 && { symbols: [...symbols] }) },
    opts: { priority: FEED_PRIORITY, deduplication: { id: `feed|${subscriberId}`, replace: true, keepLastIfActive: true } },
  };
}

/**
 * An operator's broadcast to one follower: the same `key` gives the same job id, so a retried
 * broadcast queues nothing twice. Feed priority: replies to people still go first.
 */
export function broadcastSend(subscriberId: string, text: string, key: string): SendJobSpec {
  return {
    name: 'broadcast',
    data: { kind: 'reply', subscriberId, text },
    opts: { jobId: `bc-${jobIdPart(key)}-${jobIdPart(subscriberId)}`, priority: FEED_PRIORITY },
  };
}

/** The reply to an inbound message: one per inbound job, however often that job runs. */
export function replyJobId(inboundJobId: string): string {
  return `re-${inboundJobId}`;
}

/** The request for a YES sent to the number a FALLBACK SMS named: one per inbound job, beside its reply. */
export function fallbackConfirmJobId(inboundJobId: string): string {
  return `fb-${inboundJobId}`;
}

/** The notice that a fallback number is dead: one per failover workflow, however often its status comes. */
export function fallbackEndedJobId(workflowId: string): string {
  return `fbend-${jobIdPart(workflowId)}`;
}

/** A web signup's confirmation: every signup request is its own. */
export function signupJobId(uuid: string): string {
  return `signup-${uuid}`;
}

/** A reply to a person: no priority, so it goes ahead of every waiting feed update on its channel. */
export function replySend(name: string, data: Omit<Extract<SendJob, { kind: 'reply' }>, 'kind'>, jobId: string, delayMs: number): SendJobSpec {
  return { name, data: { kind: 'reply', ...data }, opts: { jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) } };
}

/** The fan-out job of one broadcast: the same `key` is one job. */
export function broadcastFanoutJobId(key: string): string {
  return `bc-${jobIdPart(key)}`;
}
