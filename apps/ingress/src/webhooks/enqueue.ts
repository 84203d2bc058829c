import type { FastifyRequest } from 'fastify';
import type { RedisDeadline } from '../types.ts';

/** The part of a BullMQ queue this needs. */
interface JobQueue<T> {
  getJob(jobId: string): Promise<unknown>;
  add(name: string, data: T, opts: { jobId: string }): Promise<unknown>;
}

/**
 * Adds a webhook's job under its provider-derived id. A job with that id already there means
 * a redelivery: BullMQ adds nothing (the id is the guarantee, even under a race), and the check
 * before only tells /metrics and the answer that it was a duplicate. Within `deadline`: with Redis
 * away this throws (503) rather than hang, and only a job Redis has taken is answered 200.
 */
export async function enqueueOnce<T>(
  req: FastifyRequest,
  deadline: RedisDeadline,
  queue: JobQueue<T>,
  name: string,
  data: T,
  jobId: string,
): Promise<'accepted' | 'duplicate'> {
  const outcome = await deadline(async () => {
    if (await queue.getJob(jobId)) return 'duplicate' as const;
    await queue.add(name, data, { jobId });
    return 'accepted' as const;
  });
  req.webhookOutcome = outcome;
  return outcome;
}

/** The 200 every accepted webhook gets; a duplicate says so. */
export function okBody(outcome: 'accepted' | 'duplicate'): { ok: true; duplicate?: true } {
  return outcome === 'duplicate' ? { ok: true, duplicate: true } : { ok: true };
}
