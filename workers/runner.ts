import type { RedisClient } from '../lib/redis';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { AppContext } from '../lib/app-context';
import { findJob } from './jobs';
import { observeWorker } from './metrics-hooks';
import type { JobProducer } from './producer';
import { QUEUES, type QueueName } from './queues';
import type { JobContext } from './registry';

export interface RunnerOptions {
  /** env, log, the producer Redis connection and the key prefix (BullMQ's prefix too). */
  ctx: AppContext;
  producer: JobProducer;
  /** A blocking connection per worker (lib/redis.ts createWorkerConnection: maxRetriesPerRequest null). */
  createConnection: () => RedisClient;
  /**
   * Queues this process consumes. Default: all but 'broadcast', whose consumer lives in
   * workers/broadcast (it needs per-channel rate limits the generic runner does not apply).
   */
  queues?: readonly QueueName[];
  concurrency?: number;
  /** Stalled-job detection; shorter in tests that kill workers. */
  stalledInterval?: number;
  lockDuration?: number;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, then closes the worker connections. */
  close(): Promise<void>;
}

/** Parses and dispatches one job through the registry. Exported for tests. */
export async function dispatch(
  queue: QueueName,
  job: Job,
  base: Omit<JobContext, 'job' | 'log'> & { log: AppContext['log'] },
): Promise<unknown> {
  const def = findJob(job.name);
  // Retrying cannot fix either of these: fail at once instead of burning attempts.
  if (!def || def.queue !== queue) {
    throw new UnrecoverableError(`unknown job "${job.name}" on queue ${queue}`);
  }
  const parsed = def.schema.safeParse(job.data);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join('.') || '(payload)');
    throw new UnrecoverableError(`invalid payload for ${job.name}: ${paths.join(', ')}`);
  }
  const ctx: JobContext = { ...base, job, log: base.log.child({ queue, job: job.name, jobId: job.id }) };
  return def.handle(parsed.data, ctx);
}

/**
 * One BullMQ worker per queue, dispatching by job name through the registry. The payload is
 * parsed again here (it may have been added by an older release or by hand); an unknown name or
 * an invalid payload fails at once (UnrecoverableError), anything else is retried with backoff.
 */
export async function startWorkers(opts: RunnerOptions): Promise<RunningWorkers> {
  const { ctx, producer } = opts;
  const connections: RedisClient[] = [];
  const workers = (opts.queues ?? QUEUES.filter((q) => q !== 'broadcast')).map((queue) => {
    const connection = opts.createConnection();
    connections.push(connection);
    const worker: Worker = new Worker(
      queue,
      (job: Job) =>
        dispatch(queue, job, {
          log: ctx.log,
          producer,
          redis: ctx.redis,
          prefix: ctx.prefix,
          env: ctx.env,
          worker,
          enqueue: async (name, payload, o) => void (await producer.addByName(name, payload, o)),
        }),
      {
        connection,
        prefix: ctx.prefix,
        // Ingest jobs are small and batched (in-progress-answer-writer.ts): many in flight make big batches.
        concurrency: opts.concurrency ?? (queue === 'ingest' ? 256 : 8),
        ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
        ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
      },
    );
    // Ids only: a failure message is ours (paths, codes), never a payload value.
    worker.on('failed', (job, err) => {
      ctx.log.warn(
        { queue, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        'job failed',
      );
    });
    worker.on('error', (err) => ctx.log.error({ queue, err: err.message }, 'worker error'));
    return observeWorker(worker, queue);
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  let closing: Promise<void> | null = null;
  return {
    workers,
    close() {
      closing ??= (async () => {
        // close() without force waits for the active jobs (graceful drain on SIGTERM).
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
      })();
      return closing;
    },
  };
}
