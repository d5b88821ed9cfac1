import { Queue } from 'bullmq';
import type { QueueDepthRow } from '../../lib/metrics';
import type { RedisClient } from '../../lib/redis';
import { BROADCAST_CHANNELS } from '../../models/broadcast';
import { deliveryQueueName } from '../../workers/broadcast/queues';
import { OUTREACH_QUEUE } from '../../workers/jobs/outreach-ids';
import { QUEUES } from '../../workers/queues';
import { ZALO_INBOUND_QUEUE } from '../channels/zalo/inbound-queue';
import { ZALO_API_QUEUE } from '../channels/zalo/rate-limiter';

/** Every BullMQ queue of the app, under any prefix: the registry's, outreach, Zalo's and the broadcast deliveries'. */
export function allQueueNames(): string[] {
  return [
    ...new Set<string>([
      ...QUEUES,
      OUTREACH_QUEUE,
      ZALO_INBOUND_QUEUE,
      ZALO_API_QUEUE,
      ...BROADCAST_CHANNELS.map(deliveryQueueName),
    ]),
  ];
}

const DEPTH_STATES = ['wait', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * Read-side handles on every queue under the configured prefix, for /metrics (depth), the health
 * detail (lag) and the queue dashboard. They share the process's producer connection (a Queue
 * adds no blocking command) and add no job.
 */
export class QueueCatalogue {
  readonly queues: Queue[];

  constructor(redis: RedisClient, prefix: string, names: readonly string[] = allQueueNames()) {
    this.queues = names.map((name) => new Queue(name, { connection: redis, prefix }));
  }

  /** Jobs per queue and state. */
  async depth(): Promise<QueueDepthRow[]> {
    const rows: QueueDepthRow[] = [];
    for (const q of this.queues) {
      const counts = await q.getJobCounts(...DEPTH_STATES);
      for (const state of DEPTH_STATES) rows.push({ queue: q.name, state, count: counts[state] ?? 0 });
    }
    return rows;
  }

  /**
   * Per queue, how long its oldest waiting job has waited (seconds, from when it became due:
   * added, or its delay ended), and how many wait; 0 and 0 when none does.
   */
  async lag(now = Date.now()): Promise<Record<string, { waiting: number; oldestWaitS: number }>> {
    const out: Record<string, { waiting: number; oldestWaitS: number }> = {};
    for (const q of this.queues) {
      const waiting = await q.getWaitingCount();
      // Ascending: the first of the wait list is the job waiting longest.
      const [oldest] = waiting > 0 ? await q.getJobs(['wait'], 0, 0, true) : [];
      const due = oldest ? oldest.timestamp + (oldest.delay ?? 0) : now;
      out[q.name] = { waiting, oldestWaitS: Math.max(0, Math.round((now - due) / 1000)) };
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
