import type { JobsOptions } from 'bullmq';

/** Queue names. A queue groups jobs that share a worker pool and its limits. */
export const QUEUES = ['ingest', 'aggregate', 'outbound', 'broadcast'] as const;
export type QueueName = (typeof QUEUES)[number];

/**
 * Default job options, frozen all the way down: retried with exponential backoff (a restarting
 * MongoDB or Redis costs minutes, not data); completed jobs kept a day so a duplicate jobId
 * within that window is ignored by BullMQ; failed jobs kept a week for inspection.
 */
export const DEFAULT_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 10,
  backoff: Object.freeze({ type: 'exponential', delay: 1000 }),
  removeOnComplete: Object.freeze({ age: 24 * 3600, count: 100_000 }),
  removeOnFail: Object.freeze({ age: 7 * 24 * 3600 }),
});
