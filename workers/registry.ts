import type { RedisClient } from '../lib/redis';
import type { Job, JobsOptions, Worker } from 'bullmq';
import type { z } from 'zod';
import type { Env } from '../config/env';
import type { Logger } from '../lib/logger';
import type { JobProducer } from './producer';
import type { QueueName } from './queues';

/** What a job handler gets besides its payload. */
export interface JobContext {
  /** Child logger carrying the job's name and id. Ids only, never personal data. */
  log: Logger;
  /** To enqueue follow-up jobs, typed through the registry. */
  producer: JobProducer;
  /** The process's producer connection (fails fast); keys under `prefix`. */
  redis: RedisClient;
  prefix: string;
  env: Env;
  job: Job;
  /** The BullMQ worker running the job (for `rateLimit()` before a RateLimitError). */
  worker?: Worker;
  /** Untyped shorthand of `producer.add` (the payload is still validated). */
  enqueue(name: string, payload: unknown, opts?: { jobId?: string; delay?: number }): Promise<void>;
}

/** A job: name `domain.action`, the queue it runs on, its payload schema and its handler. */
export interface JobDefinition<S extends z.ZodType = z.ZodType, N extends string = string> {
  readonly name: N;
  readonly queue: QueueName;
  readonly schema: S;
  handle(payload: z.output<S>, ctx: JobContext): Promise<unknown>;
  /** Per-job overrides of DEFAULT_JOB_OPTIONS (e.g. fewer attempts for a notification). */
  readonly options?: JobsOptions;
}

/** Keeps the literal name, so `JobProducer.add` can type the payload by name. */
export function defineJob<const N extends string, S extends z.ZodType>(
  def: JobDefinition<S, N>,
): JobDefinition<S, N> {
  if (!/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$/.test(def.name)) {
    throw new Error(`job name "${def.name}" must read domain.action`);
  }
  return Object.freeze(def);
}
