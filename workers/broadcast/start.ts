import type { RedisClient } from '../../lib/redis';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { AppContext } from '../../lib/app-context';
import type { BroadcastChannel } from '../../models/broadcast';
import { observeWorker } from '../metrics-hooks';
import { resumeBroadcast } from './control';
import { DeliveryProcessor } from './delivery';
import { fanoutLead, runFanout } from './fanout';
import { ChannelLimiter } from './limiter';
import { channelLimits, concurrencyFor, rateWindow, type ChannelLimit } from './limits';
import { finishBroadcasts } from './progress';
import {
  BroadcastQueues,
  CONTROL_QUEUE,
  deliveryQueueName,
  JOB_FANOUT,
  JOB_RESUME,
  type DeliveryPayload,
} from './queues';
import type { BroadcastSender } from './senders';

export interface BroadcastWorkersOptions {
  ctx: AppContext;
  /** A blocking connection per worker (maxRetriesPerRequest: null). */
  createConnection: () => RedisClient;
  /** Channels this process delivers on; a channel without a sender is not consumed here. */
  senders: Partial<Record<BroadcastChannel, BroadcastSender>>;
  /** Overrides of the configured limits (tests, bench). */
  limits?: Partial<Record<BroadcastChannel, Partial<ChannelLimit>>>;
  lockDuration?: number;
  stalledInterval?: number;
  /** How often finished broadcasts are marked completed. */
  finishIntervalMs?: number;
}

/** BullMQ workers per delivery channel: one per DELIVERY_SLOTS_PER_FETCHER slots of concurrency. */
export const DELIVERY_SLOTS_PER_FETCHER = 40;
export function deliveryFetchers(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / DELIVERY_SLOTS_PER_FETCHER));
}

export interface BroadcastWorkers {
  queues: BroadcastQueues;
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * The broadcast side of a `workers` process: the control worker (fan-out, scheduled starts,
 * quiet-hour resumes) and one delivery worker per channel with its queue-level limiter, plus the
 * finisher. Survey replies never pass through here (they are sent directly by the channel), so
 * a long broadcast cannot delay a conversation; the broadcast rate leaves them a reserve.
 */
export async function startBroadcastWorkers(opts: BroadcastWorkersOptions): Promise<BroadcastWorkers> {
  const { ctx } = opts;
  const log = ctx.log.child({ part: 'broadcast' });
  const queues = new BroadcastQueues(ctx.redis, ctx.prefix);
  // The limits each channel delivers at here, and the fan-out's lead from them (fanout.ts).
  const configured = channelLimits(ctx.env);
  const resolved = new Map<BroadcastChannel, ChannelLimit>();
  for (const channel of Object.keys(opts.senders) as BroadcastChannel[]) {
    const limitPerS = opts.limits?.[channel]?.limitPerS ?? configured[channel].limitPerS;
    const concurrency =
      opts.limits?.[channel]?.concurrency ??
      (opts.limits?.[channel]?.limitPerS ? concurrencyFor(limitPerS) : configured[channel].concurrency);
    resolved.set(channel, { limitPerS, concurrency });
  }
  const lead = Object.fromEntries([...resolved].map(([ch, l]) => [ch, fanoutLead(l.limitPerS)]));
  const deps = { redis: ctx.redis, prefix: ctx.prefix, queues, env: ctx.env, log, lead };
  const connections: RedisClient[] = [];
  const common = {
    prefix: ctx.prefix,
    // A killed worker's jobs come back after their lock expires; several kills must not fail them.
    maxStalledCount: 10,
    ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
    ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
  };
  const workers: Worker[] = [];

  const controlConn = opts.createConnection();
  connections.push(controlConn);
  workers.push(
    new Worker(
      CONTROL_QUEUE,
      async (job: Job<{ b?: unknown; held?: unknown }>) => {
        const id = typeof job.data.b === 'string' ? job.data.b : null;
        if (!id) throw new UnrecoverableError('payload without broadcast id');
        // Every line of this job names its queue and job (ids only).
        const jobDeps = { ...deps, log: log.child({ queue: CONTROL_QUEUE, job: job.name, jobId: job.id }) };
        if (job.name === JOB_FANOUT) return runFanout(id, jobDeps);
        if (job.name === JOB_RESUME)
          return void (await resumeBroadcast(
            id,
            jobDeps,
            typeof job.data.held === 'number' ? { onlyHeldUntil: job.data.held } : {},
          ));
        throw new UnrecoverableError(`unknown job ${job.name} on ${CONTROL_QUEUE}`);
      },
      // A paced fan-out waits on its broadcast's sends (fanout.ts): room for several at once
      // beside scheduled starts and resumes.
      { ...common, connection: controlConn, concurrency: 8 },
    ),
  );

  for (const [channel, sender] of Object.entries(opts.senders) as Array<
    [BroadcastChannel, BroadcastSender]
  >) {
    const { limitPerS, concurrency } = resolved.get(channel)!;
    const limiter = new ChannelLimiter(ctx.redis, ctx.prefix, channel, {
      ...rateWindow(channel, limitPerS),
      marginMs: ctx.env.BROADCAST_RATE_MARGIN_MS,
    });
    const processor = new DeliveryProcessor({
      ...deps,
      sender,
      limiter,
      queue: queues.deliveryQueue(channel),
    });
    // Several BullMQ workers share the channel's concurrency: a Worker fetches its jobs one round
    // trip after another, so a single one is slow to fill its slots at a broadcast's start.
    const fetchers = deliveryFetchers(concurrency);
    for (let i = 0; i < fetchers; i++) {
      const connection = opts.createConnection();
      connections.push(connection);
      workers.push(
        new Worker<DeliveryPayload>(deliveryQueueName(channel), (job) => processor.process(job), {
          ...common,
          connection,
          concurrency: Math.ceil(concurrency / fetchers),
          // What makes a 429's queue.rateLimit() stop every worker of this channel (BullMQ honours
          // it only on a queue with a limiter). The bound itself is the claim script's (limiter.ts);
          // this fixed-window count of job starts (a job starts before its slot, some never send)
          // sits above it so it never throttles on its own.
          limiter: { max: Math.max(2, Math.ceil(limitPerS * 2)) + concurrency, duration: 1000 },
        }),
      );
    }
    log.info(
      { channel, limitPerS, concurrency, fetchers, marginMs: ctx.env.BROADCAST_RATE_MARGIN_MS },
      'broadcast delivery worker started',
    );
  }
  for (const w of workers) {
    observeWorker(w);
    w.on('failed', (job, err) =>
      log.warn(
        { queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        'broadcast job failed',
      ),
    );
    w.on('error', (err) => log.error({ queue: w.name, err: err.message }, 'broadcast worker error'));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  let finishing = false;
  const timer = setInterval(() => {
    if (finishing) return;
    finishing = true;
    finishBroadcasts(ctx.redis, ctx.prefix)
      .catch((err: Error) => log.error({ err: err.message }, 'broadcast finisher failed'))
      .finally(() => (finishing = false));
  }, opts.finishIntervalMs ?? 2000);
  timer.unref();

  let closing: Promise<void> | null = null;
  return {
    queues,
    workers,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await Promise.all(workers.map((w) => w.close()));
        await queues.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
      })();
      return closing;
    },
  };
}
