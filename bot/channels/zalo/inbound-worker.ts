import type { RedisClient } from '../../../lib/redis';
import { UnrecoverableError } from 'bullmq';
import type { AppContext } from '../../../lib/app-context';
import type { JobProducer } from '../../../workers/producer';
import { startQueueWorkers, type JobObserver, type RunningWorkers } from '../../../workers/runner';
import type { ZaloEventRuntime } from '../../../workers/jobs/zalo-event';
import { ZALO_INBOUND_QUEUE } from './inbound-queue';
import { processZaloEvent, ZaloUnrecoverableSend, type ZaloInboundDeps } from './inbound-processor';

/**
 * The worker draining the Zalo webhook queue, made by the one Worker factory (workers/runner.ts),
 * which validates the payload again (it was on enqueue). A refused send that retrying cannot fix
 * becomes UnrecoverableError; everything else (Zalo unreachable, rate limited, a concurrent turn)
 * is retried with backoff. Concurrency is the queue table's (1, so one user's messages are
 * applied in the order they arrived) unless given.
 */
export function startZaloInboundWorker(opts: {
  ctx: AppContext;
  producer: JobProducer;
  createConnection: () => RedisClient;
  deps: ZaloInboundDeps;
  concurrency?: number;
  observe?: JobObserver;
}): Promise<RunningWorkers> {
  const runtime: ZaloEventRuntime = {
    async process(data, job) {
      const like = { data, updateData: (d: typeof data) => job.updateData(d) };
      try {
        return await processZaloEvent(opts.deps, like);
      } catch (err) {
        if (err instanceof ZaloUnrecoverableSend) throw new UnrecoverableError(err.message);
        throw err;
      }
    },
  };
  return startQueueWorkers({
    ctx: opts.ctx,
    producer: opts.producer,
    createConnection: opts.createConnection,
    queue: ZALO_INBOUND_QUEUE,
    deps: runtime,
    ...(opts.concurrency ? { sizing: { concurrency: opts.concurrency } } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  });
}
