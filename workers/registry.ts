import type { RedisClient } from '../lib/redis';
import type { Job, JobsOptions, Worker } from 'bullmq';
import type { z } from 'zod';
import type { Env } from '../config/env';
import type { Logger } from '../lib/logger';
import type { JobProducer } from './producer';
import type { QueueName } from './queues';

/** What a job handler gets besides its payload. */
export interface JobContext<D = unknown> {
  /** Child logger carrying the job's name and id. Ids only, never personal data. */
  log: Logger;
  /** To enqueue follow-up jobs, typed through the registry. */
  producer: JobProducer;
  /** The process's producer connection (fails fast); keys under `prefix`. */
  redis: RedisClient;
  prefix: string;
  env: Env;
  /** The process's stop signal (lib/shutdown.ts), for the platform clients a handler makes. */
  stopSignal?: AbortSignal;
  job: Job;
  /** The job's lock token, for `job.moveToDelayed` before a DelayedError. */
  token?: string;
  /** The BullMQ worker running the job (for `rateLimit()` before a RateLimitError). */
  worker?: Worker;
  /**
   * What the queue's workers were started with beyond the process's context: the outreach
   * senders, a broadcast channel's delivery processor, the Zalo client. Given to the Worker
   * factory (workers/runner.ts) by whoever starts the queue; `undefined` for the registry queues.
   */
  deps: D;
  /** Untyped shorthand of `producer.add` (the payload is still validated). */
  enqueue(name: string, payload: unknown, opts?: { jobId?: string; delay?: number }): Promise<void>;
}

/** A job: name `domain.action`, the queue it runs on, its payload schema and its handler. */
export interface JobDefinition<S extends z.ZodType = z.ZodType, N extends string = string, D = unknown> {
  readonly name: N;
  /**
   * The queue it runs on. A job of several queues (a broadcast delivery, one queue per channel)
   * is added with `{ queue }` naming one of them.
   */
  readonly queue: QueueName | readonly QueueName[];
  readonly schema: S;
  handle(payload: z.output<S>, ctx: JobContext<D>): Promise<unknown>;
  /** Per-job overrides of the queue's default options (e.g. fewer attempts for a notification). */
  readonly options?: JobsOptions;
}

/** Keeps the literal name, so `JobProducer.add` can type the payload by name. */
export function defineJob<const N extends string, S extends z.ZodType, D = unknown>(
  def: JobDefinition<S, N, D>,
): JobDefinition<S, N, D> {
  if (!/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$/.test(def.name)) {
    throw new Error(`job name "${def.name}" must read domain.action`);
  }
  return Object.freeze(def);
}

/** The queues a job may run on. */
export function queuesOf(def: Pick<JobDefinition, 'queue'>): readonly QueueName[] {
  return typeof def.queue === 'string' ? [def.queue] : def.queue;
}
