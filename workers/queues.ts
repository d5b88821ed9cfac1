import type { JobsOptions } from 'bullmq';

/**
 * Every BullMQ queue of the system, in one table: its frozen default job options and how its
 * workers are sized. Jobs say which queue they run on (workers/jobs/index.ts, the catalogue);
 * producers (workers/producer.ts) and the one Worker factory (workers/runner.ts) read this table,
 * so a queue's options are set nowhere else.
 *
 * Not here: `zalo-api` (bot/channels/zalo/rate-limiter.ts) is a semaphore, not a job queue. Its
 * permits carry no payload and run no handler; BullMQ is used there only for its global rate limit.
 */

/** BullMQ's limiter: at most `max` job starts per `duration` ms, across every worker of the queue. */
export interface QueueLimiter {
  readonly max: number;
  readonly duration: number;
}

/** How a queue's workers are sized: `fetchers` BullMQ Workers share `concurrency` slots. */
export interface QueueSizing {
  readonly concurrency: number;
  readonly limiter: QueueLimiter | null;
  readonly fetchers: number;
}

export interface QueueSpec {
  readonly jobOptions: Readonly<JobsOptions>;
  /**
   * A broadcast delivery queue is sized when its workers start, from the channel's configured
   * rate (workers/broadcast/start.ts with `deliverySizing`): there is no size without a rate.
   */
  readonly sizing: QueueSizing | 'from-channel-rate';
  /** Stalls (a killed worker's jobs coming back) before a job fails; BullMQ's default is 1. */
  readonly maxStalledCount?: number;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** The backoff of the job-registry queues (registryBackoff): exponential from `delay`, capped. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';
/** The longest wait between two attempts: a job runs within this of its cause's end. */
export const BACKOFF_CAP_MS = 5 * 60_000;
/**
 * Attempts of a job-registry job: 9 doubling waits from 1 s (511 s), then every 5 minutes, about
 * 6 hours in all. Every one of these jobs is idempotent and only transient causes retry (a bad
 * payload or an unknown name fails at once, runner.ts), so a long outage of MongoDB or a platform
 * costs time, not data: with BullMQ's uncapped exponential, 10 attempts ran out after 8.5
 * minutes and the job failed for good (docs/faults.md).
 */
export const REGISTRY_ATTEMPTS = 82;

/**
 * BullMQ's backoff strategy for the types it does not know (a Worker setting, runner.ts):
 * CAPPED_EXPONENTIAL waits 2^(n−1) × `delay` after the n-th failed attempt, at most BACKOFF_CAP_MS.
 */
export function registryBackoff(
  attemptsMade: number,
  type?: string,
  _err?: Error,
  job?: { opts: JobsOptions },
): number {
  if (type !== CAPPED_EXPONENTIAL) throw new Error(`unknown backoff type "${type}"`);
  const backoff = job?.opts.backoff;
  const delay = typeof backoff === 'object' && backoff.delay !== undefined ? backoff.delay : 1000;
  return Math.min(2 ** Math.max(0, attemptsMade - 1) * delay, BACKOFF_CAP_MS);
}

/**
 * The default job options of the job-registry queues: retried with capped exponential backoff
 * for hours (a restarting MongoDB or Redis, or a long outage, costs time, not data); completed
 * jobs kept a day so a duplicate jobId within that window is ignored by BullMQ; failed jobs kept
 * a week for inspection.
 */
export const DEFAULT_JOB_OPTIONS: Readonly<JobsOptions> = deepFreeze({
  attempts: REGISTRY_ATTEMPTS,
  backoff: { type: CAPPED_EXPONENTIAL, delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

/** As the broadcast queues: several stalls in a row must not fail a job that retries safely. */
const REGISTRY_MAX_STALLED = 10;

const sized = (concurrency: number): QueueSizing => ({ concurrency, limiter: null, fetchers: 1 });

const TABLE = {
  /** Answers, completions, session syncs, contact changes: small jobs, batched by the writers. */
  ingest: {
    jobOptions: DEFAULT_JOB_OPTIONS,
    // Many in flight make big batches (in-progress-answer-writer.ts).
    sizing: sized(256),
    // Every job of the registry is idempotent by its jobId and its writes, so a stall (a killed
    // worker, or a starved one losing its lock during a database outage) only retries it.
    maxStalledCount: REGISTRY_MAX_STALLED,
  },
  /** Rollups, case escalation, the daily digest run, retention. */
  aggregate: { jobOptions: DEFAULT_JOB_OPTIONS, sizing: sized(8), maxStalledCount: REGISTRY_MAX_STALLED },
  /** Notifications: case alerts and digests to units, case follow-ups to citizens. */
  outbound: { jobOptions: DEFAULT_JOB_OPTIONS, sizing: sized(8), maxStalledCount: REGISTRY_MAX_STALLED },
  /**
   * Invitations, reminders and the erasure of a phone kept for ZNS: delayed jobs (hours or days
   * ahead), so finished ones are kept a week for their ids and failures a month.
   */
  outreach: {
    jobOptions: {
      attempts: 6,
      backoff: { type: 'exponential', delay: 30_000 },
      removeOnComplete: { age: 7 * 86400, count: 10_000 },
      removeOnFail: { age: 30 * 86400 },
    },
    sizing: sized(4),
  },
  /** Broadcast fan-out, scheduled starts and quiet-hour resumes. */
  broadcast: {
    jobOptions: {
      attempts: 10,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
    // A paced fan-out waits on its broadcast's sends (fanout.ts): room for several at once beside
    // scheduled starts and resumes.
    sizing: sized(8),
    // A killed worker's jobs come back after their lock expires; several kills must not fail them.
    maxStalledCount: 10,
  },
  /**
   * One delivery queue per channel, because BullMQ's limiter and its 429 pause are per queue: a
   * Telegram 429 must stop every Telegram send and no Zalo send. What stops a repeat is the
   * delivery's state (workers/broadcast/delivery-store.ts), not its finished job: a job added
   * again finds its delivery settled at the claim and sends nothing. So finished jobs are not
   * kept (they would fill Redis after a large broadcast and cost BullMQ's finishing script its
   * completed-set writes); failed ones are.
   */
  'broadcast-telegram': {
    jobOptions: deliveryJobOptions(),
    sizing: 'from-channel-rate',
    maxStalledCount: 10,
  },
  'broadcast-zalo': { jobOptions: deliveryJobOptions(), sizing: 'from-channel-rate', maxStalledCount: 10 },
  /**
   * Zalo webhook events. One at a time, so one user's messages are applied in the order they
   * arrived; finished jobs are kept 3 h (beyond that a "done" marker drops Zalo's retries).
   */
  'zalo-inbound': {
    jobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 3 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    sizing: sized(1),
  },
} satisfies Record<string, QueueSpec>;

function deliveryJobOptions(): JobsOptions {
  return {
    attempts: 8,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export type QueueName = keyof typeof TABLE;
export const QUEUE_TABLE: Readonly<Record<QueueName, QueueSpec>> = deepFreeze(TABLE);
export const QUEUES = Object.freeze(Object.keys(TABLE) as QueueName[]);

export function isQueueName(name: string): name is QueueName {
  return Object.hasOwn(TABLE, name);
}

/** A copy of the queue's default job options (BullMQ may write into what it is given). */
export function jobOptionsOf(queue: QueueName): JobsOptions {
  return structuredClone(QUEUE_TABLE[queue].jobOptions) as JobsOptions;
}

/** The delivery queue of a broadcast channel. */
export const deliveryQueueName = (channel: 'telegram' | 'zalo'): QueueName => `broadcast-${channel}`;

/** BullMQ Workers per delivery channel: one per DELIVERY_SLOTS_PER_FETCHER slots of concurrency. */
export const DELIVERY_SLOTS_PER_FETCHER = 40;
export function deliveryFetchers(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / DELIVERY_SLOTS_PER_FETCHER));
}

/**
 * A delivery queue's size for a channel rate. Several Workers share the concurrency: a Worker
 * fetches its jobs one round trip after another, so a single one is slow to fill its slots at a
 * broadcast's start. The limiter is what makes a 429's `queue.rateLimit()` stop every worker of
 * the channel (BullMQ honours it only on a queue with a limiter); the bound itself is the claim
 * script's (workers/broadcast/limiter.ts), and this fixed-window count of job starts (a job starts
 * before its slot, some never send) sits above it so it never throttles on its own.
 */
export function deliverySizing(limitPerS: number, concurrency: number): QueueSizing {
  const fetchers = deliveryFetchers(concurrency);
  return {
    concurrency,
    fetchers,
    limiter: { max: Math.max(2, Math.ceil(limitPerS * 2)) + concurrency, duration: 1000 },
  };
}
