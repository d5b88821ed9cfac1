import { Queue, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { key, type RedisClient } from '../../../lib/redis';

/**
 * The queue between the Zalo webhook and the work it triggers. A job's id is the event's
 * identity, so a retried delivery that arrives while the first is queued is dropped by BullMQ;
 * after processing, a "done" marker (kept longer than Zalo's 2 h retry schedule) drops later ones.
 */
export const ZALO_INBOUND_QUEUE = 'zalo-inbound';
export const ZALO_DONE_TTL_S = 24 * 3600;

export const zaloEventJobSchema = z.object({
  eventId: z.string().min(1).max(200),
  event: z.record(z.string(), z.unknown()),
  receivedAt: z.number(),
  /** Messages rendered by the turn, kept so a retried job resends instead of re-running the turn. */
  outbox: z.array(z.record(z.string(), z.unknown())).optional(),
  sent: z.number().int().min(0).optional(),
});
export type ZaloEventJob = z.infer<typeof zaloEventJobSchema>;

export const ZALO_INBOUND_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 3 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
});

export class ZaloInboundQueue {
  readonly queue: Queue;
  constructor(connection: RedisClient, prefix: string) {
    this.queue = new Queue(ZALO_INBOUND_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: { ...ZALO_INBOUND_JOB_OPTIONS },
    });
  }

  async add(name: 'zalo.event', data: ZaloEventJob, opts: { jobId: string }): Promise<void> {
    const parsed = zaloEventJobSchema.parse(data);
    await this.queue.add(name, parsed, { jobId: opts.jobId });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

function doneKey(prefix: string, id: string): string {
  return key(prefix, 'zalo', 'done', id);
}

export async function isZaloEventDone(redis: RedisClient, prefix: string, id: string): Promise<boolean> {
  return (await redis.exists(doneKey(prefix, id))) === 1;
}

/** Returns false when the event was already marked done (a concurrent duplicate). */
export async function markZaloEventDone(redis: RedisClient, prefix: string, id: string): Promise<boolean> {
  return (await redis.set(doneKey(prefix, id), '1', 'EX', ZALO_DONE_TTL_S, 'NX')) === 'OK';
}
