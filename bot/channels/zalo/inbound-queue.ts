import type { Queue } from 'bullmq';
import { key, type RedisClient } from '../../../lib/redis';
import { JobProducer } from '../../../workers/producer';
import { zaloEventJobSchema, type ZaloEventJob } from '../../../workers/jobs/zalo-event';

export { zaloEventJobSchema, type ZaloEventJob };

/**
 * The queue between the Zalo webhook and the work it triggers (its options: the queue table,
 * workers/queues.ts; its job: `zalo.event` in the catalogue). A job's id is the event's identity,
 * so a retried delivery that arrives while the first is queued is dropped by BullMQ; after
 * processing, a "done" marker (kept longer than Zalo's 2 h retry schedule) drops later ones.
 */
export const ZALO_INBOUND_QUEUE = 'zalo-inbound';
export const ZALO_DONE_TTL_S = 24 * 3600;

/** Adds webhook events through the producer (validated there, and again when processed). */
export class ZaloInboundQueue {
  readonly producer: JobProducer;
  constructor(connection: RedisClient, prefix: string) {
    this.producer = new JobProducer(connection, prefix);
  }

  get queue(): Queue {
    return this.producer.getQueue(ZALO_INBOUND_QUEUE);
  }

  async add(name: 'zalo.event', data: ZaloEventJob, opts: { jobId: string }): Promise<void> {
    await this.producer.add(name, data, { jobId: opts.jobId });
  }

  close(): Promise<void> {
    return this.producer.close();
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
