import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppContext } from '../app/context';
import { findJob } from './jobs';
import type { JobProducer } from './producer';
import { QUEUES, type QueueName } from './queues';
import type { JobContext } from './registry';

export interface RunnerOptions {
  ctx: AppContext;
  producer: JobProducer;
  /** A blocking connection per worker (maxRetriesPerRequest: null). */
  createConnection: () => Redis;
  queues?: readonly QueueName[];
  concurrency?: number;
  /** Stalled-job detection; shorter in tests that kill workers. */
  stalledInterval?: number;
  lockDuration?: number;
}

export interface RunningWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * One BullMQ worker per queue, dispatching by job name through the registry. The payload is
 * parsed again here; an unknown name or an invalid payload fails at once (UnrecoverableError),
 * anything else is retried with backoff. close() lets active jobs finish (graceful SIGTERM).
 */
export async function startWorkers(opts: RunnerOptions): Promise<RunningWorkers> {
  const { ctx, producer } = opts;
  const connections: Redis[] = [];
  const workers = (opts.queues ?? QUEUES.filter((q) => q !== 'broadcast')).map((queue) => {
    const connection = opts.createConnection();
    connections.push(connection);
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const def = findJob(job.name);
        if (!def || def.queue !== queue) throw new UnrecoverableError(`unknown job ${job.name} on queue ${queue}`);
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
        const jctx: JobContext = {
          log: ctx.log.child({ job: job.name, jobId: job.id }),
          redis: ctx.redis,
          prefix: ctx.prefix,
          env: ctx.env,
          job,
          enqueue: async (name, payload, o) => void (await producer.add(name, payload, o ?? {})),
        };
        await def.handle(parsed.data, jctx);
      },
      {
        connection,
        prefix: ctx.prefix,
        concurrency: opts.concurrency ?? 8,
        ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
        ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
      },
    );
    worker.on('failed', (job, err) => {
      ctx.log.warn({ queue, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    worker.on('error', (err) => ctx.log.error({ queue, err: err.message }, 'worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
    },
  };
}
