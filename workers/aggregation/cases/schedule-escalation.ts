import type { Queue } from 'bullmq';

/** Every 15 minutes; idempotent (a job scheduler with a fixed id). Call once at worker start-up. */
export async function scheduleCaseEscalation(aggregateQueue: Queue, everyMs = 15 * 60_000): Promise<void> {
  await aggregateQueue.upsertJobScheduler(
    'case-escalate',
    { every: everyMs },
    { name: 'case.escalate', data: {} },
  );
}
