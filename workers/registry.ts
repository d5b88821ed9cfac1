import type { Job, JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Env } from '../config/env';
import type { Logger } from '../lib/logger';
import type { QueueName } from './queues';

/** What a job handler gets besides its payload. */
export interface JobContext {
  log: Logger;
  redis: Redis;
  prefix: string;
  env: Env;
  job: Job;
  /** To enqueue follow-up jobs (typed through the registry). */
  enqueue(name: string, payload: unknown, opts?: { jobId?: string; delay?: number }): Promise<void>;
}

/** A job: name `domain.action`, the queue it runs on, its payload schema and its handler. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  queue: QueueName;
  schema: S;
  handle(payload: z.output<S>, ctx: JobContext): Promise<void>;
  options?: JobsOptions;
}

export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  return Object.freeze(def);
}
