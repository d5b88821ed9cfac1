import type { RedisClient } from '../lib/redis';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { AppContext } from '../lib/app-context';
import { findJob } from './jobs';
import { observeWorker } from './metrics-hooks';
import type { JobProducer } from './producer';
import { QUEUE_TABLE, registryBackoff, type QueueName, type QueueSizing } from './queues';
import { queuesOf, type JobContext } from './registry';

/**
 * How a job ended, for whoever observes the workers (metrics): called once per run of a job
 * (a retry is another run), after its handler settled. `durationMs` is the handler's time.
 */
export interface JobRun {
  queue: QueueName;
  name: string;
  durationMs: number;
  /** 'failed' also for a signal (DelayedError, RateLimitError): `err.name` tells them apart. */
  outcome: 'completed' | 'failed';
  err?: Error;
}
export type JobObserver = (run: JobRun) => void;

/** What every handler's context is made of; the factory adds the job, its logger and the queue's deps. */
export type DispatchBase<D = unknown> = Omit<JobContext<D>, 'job' | 'log' | 'token' | 'deps'> & {
  log: AppContext['log'];
  deps?: D;
};

/**
 * Parses and dispatches one job through the catalogue. The payload is parsed again here (it may
 * have been added by an older release or by hand); an unknown name (or one of another queue) and
 * an invalid payload fail at once (UnrecoverableError), since retrying cannot fix either.
 * Exported for tests.
 */
export async function dispatch<D>(
  queue: QueueName,
  job: Job,
  base: DispatchBase<D>,
  token?: string,
): Promise<unknown> {
  const def = findJob(job.name);
  if (!def || !queuesOf(def).includes(queue)) {
    throw new UnrecoverableError(`unknown job "${job.name}" on queue ${queue}`);
  }
  const parsed = def.schema.safeParse(job.data);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join('.') || '(payload)');
    throw new UnrecoverableError(`invalid payload for ${job.name}: ${paths.join(', ')}`);
  }
  // Built by hand, the logger on first use: this runs for every broadcast delivery.
  let log: AppContext['log'] | undefined;
  const ctx: JobContext = {
    producer: base.producer,
    redis: base.redis,
    prefix: base.prefix,
    env: base.env,
    stopSignal: base.stopSignal,
    enqueue: base.enqueue,
    worker: base.worker,
    deps: base.deps,
    job,
    token,
    get log() {
      return (log ??= base.log.child({ queue, job: job.name, jobId: job.id }));
    },
  };
  return def.handle(parsed.data, ctx);
}

export interface QueueWorkersOptions<D = unknown> {
  /** env, log, the producer Redis connection and the key prefix (BullMQ's prefix too). */
  ctx: AppContext;
  producer: JobProducer;
  /** A blocking connection per Worker (lib/redis.ts createWorkerConnection: maxRetriesPerRequest null). */
  createConnection: () => RedisClient;
  queue: QueueName;
  /** The queue's handlers' `ctx.deps` (see JobContext). */
  deps?: D;
  /** Instead of the table's sizing (a broadcast channel's, from its rate; a test's). */
  sizing?: Partial<QueueSizing>;
  /** Stalled-job detection; shorter in tests that kill workers. */
  stalledInterval?: number;
  lockDuration?: number;
  /** Told of every run of every job (job duration and failures per queue). */
  observe?: JobObserver;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs, lets active ones finish, then closes the worker connections. */
  close(): Promise<void>;
}

/**
 * The one place Workers are made: `fetchers` BullMQ Workers for the queue (sized by the queue
 * table, workers/queues.ts), each on its own blocking connection, sharing the concurrency and
 * dispatching by job name through the catalogue. Failures are logged with ids only (a failure
 * message is ours: paths, codes, never a payload value).
 */
export async function startQueueWorkers<D>(opts: QueueWorkersOptions<D>): Promise<RunningWorkers> {
  const { ctx, producer, queue } = opts;
  const spec = QUEUE_TABLE[queue];
  const table = spec.sizing === 'from-channel-rate' ? null : spec.sizing;
  const concurrency = opts.sizing?.concurrency ?? table?.concurrency;
  if (concurrency === undefined)
    throw new Error(`queue ${queue} is sized from its channel's rate: give its sizing`);
  const fetchers = opts.sizing?.fetchers ?? table?.fetchers ?? 1;
  const limiter = opts.sizing?.limiter !== undefined ? opts.sizing.limiter : (table?.limiter ?? null);
  const base = {
    log: ctx.log,
    producer,
    redis: ctx.redis,
    prefix: ctx.prefix,
    env: ctx.env,
    stopSignal: ctx.stopSignal,
    ...(opts.deps !== undefined ? { deps: opts.deps } : {}),
    enqueue: async (name: string, payload: unknown, o?: { jobId?: string; delay?: number }) =>
      void (await producer.addByName(name, payload, o)),
  };
  const observe = opts.observe;
  const connections: RedisClient[] = [];
  const workers: Worker[] = [];
  for (let i = 0; i < fetchers; i++) {
    const connection = opts.createConnection();
    connections.push(connection);
    const own: DispatchBase<D> = { ...base };
    const run = (job: Job, token?: string) => dispatch(queue, job, own, token);
    const worker: Worker = new Worker(
      queue,
      observe
        ? async (job: Job, token?: string) => {
            const started = performance.now();
            try {
              const out = await run(job, token);
              observe({
                queue,
                name: job.name,
                durationMs: performance.now() - started,
                outcome: 'completed',
              });
              return out;
            } catch (err) {
              const e = err as Error;
              observe({
                queue,
                name: job.name,
                durationMs: performance.now() - started,
                outcome: 'failed',
                err: e,
              });
              throw err;
            }
          }
        : run,
      {
        connection,
        prefix: ctx.prefix,
        concurrency: Math.ceil(concurrency / fetchers),
        ...(limiter ? { limiter: { max: limiter.max, duration: limiter.duration } } : {}),
        ...(spec.maxStalledCount !== undefined ? { maxStalledCount: spec.maxStalledCount } : {}),
        settings: { backoffStrategy: registryBackoff },
        ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
        ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
      },
    );
    worker.on('failed', (job, err) => {
      ctx.log.warn(
        { queue, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        'job failed',
      );
    });
    // Unheard, an 'error' event kills the process; BullMQ reports connection trouble this way.
    worker.on('error', (err) => ctx.log.error({ queue, err: err.message }, 'worker error'));
    observeWorker(worker, queue);
    own.worker = worker;
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return running(workers, connections);
}

function running(workers: Worker[], connections: RedisClient[]): RunningWorkers {
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

/** Several queues' workers as one, closed together. */
export function allWorkers(parts: RunningWorkers[]): RunningWorkers {
  let closing: Promise<void> | null = null;
  return {
    workers: parts.flatMap((p) => p.workers),
    close() {
      closing ??= Promise.all(parts.map((p) => p.close())).then(() => undefined);
      return closing;
    },
  };
}

/** The queues of the job registry that need nothing beyond the process's context. */
export const REGISTRY_QUEUES = ['ingest', 'aggregate', 'outbound'] as const satisfies readonly QueueName[];

export interface RunnerOptions extends Omit<QueueWorkersOptions, 'queue' | 'deps' | 'sizing'> {
  /**
   * Queues this process consumes. Default: the registry queues. Outreach, broadcasts and Zalo
   * events are started by their own owners (Outreach.startWorker, startBroadcastWorkers,
   * the Zalo channel's startWorker), which hold the senders their jobs need, through the same factory.
   */
  queues?: readonly QueueName[];
  concurrency?: number;
}

/** The registry queues' workers (or `queues`), one `startQueueWorkers` each. */
export async function startWorkers(opts: RunnerOptions): Promise<RunningWorkers> {
  const { queues, concurrency, ...rest } = opts;
  const parts = await Promise.all(
    (queues ?? REGISTRY_QUEUES).map((queue) =>
      startQueueWorkers({ ...rest, queue, ...(concurrency ? { sizing: { concurrency } } : {}) }),
    ),
  );
  return allWorkers(parts);
}
