import { hcmDay } from '../../lib/time';
import type { ResponseCompletePayload } from '../jobs/response-meta';
import type { JobContext } from '../registry';
import { notifyJobId } from './cases/case-jobs';
import { openCase } from './cases/open-case';
import { checkSharedContact } from './integrity/shared-contact';
import { checkCounterNetwork } from './integrity/counter-network';
import { scheduleDossierOf } from './rollups/dossiers';
import { scheduleRollup, ROLLUP_COALESCE_MS } from './rollups/schedule';

/** Tunables of the hook (tests shorten the coalescing window). */
export const aggregationSettings = { coalesceMs: ROLLUP_COALESCE_MS };

/**
 * Extra steps after a response is stored as completed: the integrity rules that need the
 * moment of completion (shared contact, counter network). Each is idempotent.
 */
export const afterCompleteSteps: Array<(p: ResponseCompletePayload, ctx: JobContext) => Promise<void>> = [
  async (p, ctx) => void (await checkSharedContact(p, ctx)),
  async (p, ctx) => void (await checkCounterNetwork(p, ctx)),
];

/**
 * The `afterResponseComplete` hook of workers/jobs/response-complete.ts. Runs after the response
 * and its answers are stored, so scheduling here satisfies rollups/schedule.ts's precondition. Idempotent:
 * a rerun schedules a recompute that coalesces or recounts the same raw data.
 */
export async function aggregateAfterComplete(p: ResponseCompletePayload, ctx: JobContext): Promise<void> {
  const deps = {
    redis: ctx.redis,
    prefix: ctx.prefix,
    enqueue: (name: string, payload: unknown, o?: { jobId?: string; delay?: number }) =>
      ctx.enqueue(name, payload, o),
  };
  if (p.meta.unitCode)
    await scheduleRollup(
      deps,
      p.meta.unitCode,
      hcmDay(new Date(p.completedAt)),
      aggregationSettings.coalesceMs,
    );
  // A 1 or 2 anywhere opens a case (once per response) and alerts the unit (once per case).
  const opened = await openCase(p, { slaHours: ctx.env.CASE_SLA_HOURS });
  // After the response and its case are stored: its dossier's counts (rollups/dossiers.ts).
  await scheduleDossierOf(deps, p.meta.dossierCode, aggregationSettings.coalesceMs);
  if (opened)
    await ctx.enqueue('case.notify', { caseId: opened.caseId }, { jobId: notifyJobId(opened.caseId) });
  for (const step of afterCompleteSteps) await step(p, ctx);
}
