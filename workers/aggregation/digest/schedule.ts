import type { Queue } from 'bullmq';
import { ZONE } from '../../../lib/time';

export const DIGEST_SCHEDULER_ID = 'digest-daily';

/**
 * The daily digest at `at` (HH:MM, Asia/Ho_Chi_Minh) as a BullMQ job scheduler with a fixed id:
 * idempotent, one schedule however many workers start. "off" removes it.
 */
export async function scheduleDigest(aggregateQueue: Queue, at: string): Promise<void> {
  if (at === 'off') {
    await aggregateQueue.removeJobScheduler(DIGEST_SCHEDULER_ID);
    return;
  }
  const [h, m] = at.split(':').map(Number);
  await aggregateQueue.upsertJobScheduler(DIGEST_SCHEDULER_ID, { pattern: `0 ${m} ${h} * * *`, tz: ZONE }, { name: 'digest.run', data: {} });
}
