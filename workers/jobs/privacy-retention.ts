import type { Queue } from 'bullmq';
import { z } from 'zod';
import { runRetention } from '../../privacy/retention';
import { ZONE } from '../../lib/time';
import { defineJob } from '../registry';

export const RETENTION_SCHEDULER_ID = 'privacy-retention-daily';

/** The daily retention run (lib/privacy/retention.ts); RETENTION_DAYS=0 makes it a no-op. */
export const privacyRetention = defineJob({
  name: 'privacy.retention',
  queue: 'aggregate',
  schema: z.object({}).strict(),
  async handle(_p, ctx) {
    const report = await runRetention(
      { redis: ctx.redis, prefix: ctx.prefix, phoneHashKey: ctx.env.PHONE_HASH_KEY },
      ctx.env.RETENTION_DAYS,
    );
    // Counts only.
    if (report) ctx.log.info({ ...report }, 'privacy retention done');
    return report;
  },
});

/**
 * At `at` (HH:MM, Asia/Ho_Chi_Minh) every day, as a BullMQ job scheduler with a fixed id (one
 * schedule however many workers start); removed when RETENTION_DAYS is 0.
 */
export async function scheduleRetention(aggregateQueue: Queue, at: string, days: number): Promise<void> {
  if (days <= 0) {
    await aggregateQueue.removeJobScheduler(RETENTION_SCHEDULER_ID);
    return;
  }
  const [h, m] = at.split(':').map(Number);
  await aggregateQueue.upsertJobScheduler(
    RETENTION_SCHEDULER_ID,
    { pattern: `0 ${m} ${h} * * *`, tz: ZONE },
    { name: 'privacy.retention', data: {} },
  );
}
