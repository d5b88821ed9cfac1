import type { RedisClient } from '../../../lib/redis';
import { UnrecoverableError, Worker } from 'bullmq';
import { updatesDeadLettered, updatesProcessed } from '../../../lib/metrics';
import { observeWorker } from '../../../workers/metrics-hooks';
import { ZALO_INBOUND_QUEUE, zaloEventJobSchema } from './inbound-queue';
import { processZaloEvent, ZaloUnrecoverableSend, type ZaloInboundDeps } from './inbound-processor';

/**
 * The worker draining the Zalo webhook queue. Payloads are validated again here (they were on
 * enqueue). A refused send that retrying cannot fix becomes UnrecoverableError; everything else
 * (Zalo unreachable, rate limited, a concurrent turn) is retried with backoff.
 * Concurrency defaults to 1 so one user's messages are applied in the order they arrived.
 */
export function createZaloInboundWorker(opts: {
  connection: RedisClient;
  prefix: string;
  deps: ZaloInboundDeps;
  concurrency?: number;
}): Worker {
  const worker = new Worker(
    ZALO_INBOUND_QUEUE,
    async (job) => {
      const data = zaloEventJobSchema.parse(job.data);
      const like = { data, updateData: (d: typeof data) => job.updateData(d) };
      try {
        return await processZaloEvent(opts.deps, like);
      } catch (err) {
        if (err instanceof ZaloUnrecoverableSend) throw new UnrecoverableError(err.message);
        throw err;
      }
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 1 },
  );
  // What became of each event (lib/metrics.ts): the job's result, or its failure.
  worker.on('completed', (_job, result: 'done' | 'duplicate' | 'ignored') =>
    updatesProcessed.inc({ channel: 'zalo', outcome: result === 'done' ? 'applied' : result }),
  );
  worker.on('failed', (job, err) => {
    const final = !job || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    updatesProcessed.inc({ channel: 'zalo', outcome: final ? 'failed' : 'retried' });
    // A failed job is kept (removeOnFail) for inspection: Zalo's dead letter.
    if (final) updatesDeadLettered.inc({ channel: 'zalo' });
  });
  return observeWorker(worker, ZALO_INBOUND_QUEUE);
}
