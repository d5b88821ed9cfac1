import { hcmDay } from '../../lib/time';
import type { ResponseCompletePayload } from '../jobs/response-complete';
import type { JobContext } from '../registry';
import { scheduleRollup, ROLLUP_COALESCE_MS } from './schedule';

/** Tunables of the hook (tests shorten the coalescing window). */
export const aggregationSettings = { coalesceMs: ROLLUP_COALESCE_MS };

/** Extra steps after a response is stored as completed (cases are added by cases/open-case.ts). */
export const afterCompleteSteps: Array<(p: ResponseCompletePayload, ctx: JobContext) => Promise<void>> = [];

/**
 * The `afterResponseComplete` hook of workers/jobs/response-complete.ts. Runs after the response
 * and its answers are stored, so scheduling here satisfies schedule.ts's precondition. Idempotent:
 * a rerun schedules a recompute that coalesces or recounts the same raw data.
 */
export async function aggregateAfterComplete(p: ResponseCompletePayload, ctx: JobContext): Promise<void> {
  if (p.meta.unitCode) {
    const day = hcmDay(new Date(p.completedAt));
    await scheduleRollup({ redis: ctx.redis, prefix: ctx.prefix, enqueue: ctx.enqueue }, p.meta.unitCode, day, aggregationSettings.coalesceMs);
  }
  for (const step of afterCompleteSteps) await step(p, ctx);
}
