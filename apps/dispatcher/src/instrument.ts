import type { Job, Worker } from 'bullmq';
import type { MetricsRecorder } from '@tickercast/shared';

/** A short, stable reason for a failed job: the error's class, or what our own messages name. */
export function failureReason(message: string): string {
  if (message.startsWith('recipient unreachable')) return 'recipient_unreachable';
  const m = /^([A-Za-z]+Error)\b/.exec(message);
  return m ? m[1]! : 'other';
}

/** Records queue wait, send latency, outcomes, retries and failures from the workers' events. */
export function instrumentWorkers(workers: Worker[], metrics: MetricsRecorder): void {
  for (const w of workers) {
    w.on('completed', (job: Job, result: unknown) => {
      if (job.processedOn) metrics.observe('tickercast_queue_wait_ms', { queue: w.name }, job.processedOn - job.timestamp);
      if (!w.name.startsWith('send-')) return;
      const channel = w.name.slice('send-'.length);
      const sent = (result as { sent?: boolean } | undefined)?.sent === true;
      const data = job.data as { kind?: string; tickedAt?: number };
      metrics.inc('tickercast_send_jobs_total', { channel, kind: data.kind ?? 'unknown', outcome: sent ? 'sent' : 'skipped' });
      if (sent && data.kind === 'price' && data.tickedAt) {
        metrics.observe('tickercast_send_latency_ms', { channel }, (job.finishedOn ?? Date.now()) - data.tickedAt);
      }
    });
    w.on('failed', (job: Job | undefined, err: Error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
      if (final) metrics.inc('tickercast_job_failures_total', { queue: w.name, reason: failureReason(err.message) });
      else metrics.inc('tickercast_job_retries_total', { queue: w.name });
    });
  }
}
