import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { MetricsRecorder } from '@tickercast/shared';
import { JobFailure } from './job-failure.ts';

/** A short, stable reason for a job failed for good: the JobFailure's own, or the class of what was thrown. */
export function failureReason(err: Error): string {
  return err instanceof JobFailure ? err.reason : err.name;
}

/** Records queue wait, send latency, outcomes, retries and failures from the workers' events. */
export function instrumentWorkers(workers: Worker[], metrics: MetricsRecorder): void {
  for (const w of workers) {
    w.on('completed', (job: Job, result: unknown) => {
      if (job.processedOn) metrics.observe('tickercast_queue_wait_ms', { queue: w.name }, job.processedOn - job.timestamp);
      if (!w.name.startsWith('send-')) return;
      const channel = w.name.slice('send-'.length);
      const sent = (result as { sent?: boolean } | undefined)?.sent === true;
      const data = job.data as { kind?: string };
      metrics.inc('tickercast_send_jobs_total', { channel, kind: data.kind ?? 'unknown', outcome: sent ? 'sent' : 'skipped' });
      const tickedAt = (result as { tickedAt?: number } | undefined)?.tickedAt;
      if (!sent || tickedAt === undefined) return;
      const acceptedAt = job.finishedOn ?? Date.now();
      // Flushed with the rest once a second: what the dashboard's "last price" age reads, at no cost per send.
      metrics.latest('tickercast_last_price_sent_timestamp_seconds', { channel }, acceptedAt / 1000);
      metrics.observe('tickercast_send_latency_ms', { channel }, acceptedAt - tickedAt);
    });
    w.on('failed', (job: Job | undefined, err: Error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
      if (final) metrics.inc('tickercast_job_failures_total', { queue: w.name, reason: failureReason(err) });
      else metrics.inc('tickercast_job_retries_total', { queue: w.name });
    });
  }
}
