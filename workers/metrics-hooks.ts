import type { Job, Worker } from 'bullmq';
import { jobDuration, jobFailures } from '../lib/metrics';

/** Whether a failed attempt was the job's last: no attempt left, or a failure retrying cannot fix. */
function isFinal(job: Job, err: Error): boolean {
  if (err.name === 'UnrecoverableError') return true;
  return job.attemptsMade >= (job.opts.attempts ?? 1);
}

/** From the attempt's start to now (a retried attempt has no finishedOn: the event is its end). */
function seconds(job: Job): number | null {
  const end = job.finishedOn ?? Date.now();
  return job.processedOn && end >= job.processedOn ? (end - job.processedOn) / 1000 : null;
}

/**
 * Job duration and failures of one BullMQ worker, per queue (lib/metrics.ts). Called once where
 * a Worker is made; it listens to the worker's own events and changes nothing of its jobs. A
 * job moved back to delayed (quiet hours, DelayedError) or rate limited is not a failure: BullMQ
 * emits no 'failed' for those.
 */
export function observeWorker(worker: Worker, queue: string = worker.name): Worker {
  worker.on('completed', (job) => {
    const s = seconds(job);
    if (s !== null) jobDuration.observe({ queue, outcome: 'completed' }, s);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    jobFailures.inc({ queue, final: String(isFinal(job, err)) });
    const s = seconds(job);
    if (s !== null) jobDuration.observe({ queue, outcome: 'failed' }, s);
  });
  return worker;
}
