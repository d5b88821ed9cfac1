import type { RedisClient } from '../../../lib/redis';
import { appendAudit } from '../../../lib/audit/writer';
import { Flag } from '../../../models/flag';
import { Response } from '../../../models/response';
import { loadBucketAnswers } from '../rollups/recompute';
import { scheduleDossierOf } from '../rollups/dossiers';
import { scheduleRollup, type ScheduleDeps } from '../rollups/schedule';

/**
 * Integrity checks: bursts of identical answer sets in one unit within a short window (a counter
 * staff member filling forms), here; one contact or device answering for many applicants
 * (shared-contact.ts) and answers from the counter's own network (counter-network.ts) run
 * after each completion (after-complete.ts). Flags never change a figure; an admin excludes.
 */
export interface BurstRule {
  /** At least this many completed responses with the same answers... */
  minSize: number;
  /** ...each within this many minutes of the previous one. */
  windowMin: number;
}
export const DEFAULT_BURST: BurstRule = { minSize: 5, windowMin: 10 };

/** Pure: groups responses by answer signature and returns the ids in bursts. */
export function findBursts(
  rows: Array<{ responseId: string; completedAt: Date; signature: string }>,
  rule: BurstRule = DEFAULT_BURST,
): string[][] {
  const bySig = new Map<string, typeof rows>();
  for (const r of rows) bySig.set(r.signature, [...(bySig.get(r.signature) ?? []), r]);
  const bursts: string[][] = [];
  for (const list of bySig.values()) {
    list.sort((a, b) => a.completedAt.getTime() - b.completedAt.getTime());
    let run: typeof rows = [];
    const flush = () => {
      if (run.length >= rule.minSize) bursts.push(run.map((r) => r.responseId));
    };
    for (const r of list) {
      const prev = run[run.length - 1];
      if (prev && r.completedAt.getTime() - prev.completedAt.getTime() > rule.windowMin * 60_000) {
        flush();
        run = [];
      }
      run.push(r);
    }
    flush();
  }
  return bursts;
}

/** Flags identical-answer bursts of one unit-day (idempotent: one flag per response and reason). */
export async function flagBursts(
  unitCode: string,
  day: string,
  rule: BurstRule = DEFAULT_BURST,
  now = new Date(),
): Promise<number> {
  const responses = await Response.find(
    { unitCode, day, status: 'completed' },
    { responseId: 1, completedAt: 1 },
  ).lean();
  if (responses.length === 0) return 0;
  // By the {unitCode, day} index: a `$in` over response ids scans every answer on FerretDB 1.24.
  const answers = await loadBucketAnswers(unitCode, day);
  const sig = new Map<string, string[]>();
  for (const a of answers)
    sig.set(a.responseId, [...(sig.get(a.responseId) ?? []), `${a.questionId}=${JSON.stringify(a.value)}`]);
  const rows = responses
    .filter((r) => r.completedAt)
    .map((r) => ({
      responseId: r.responseId,
      completedAt: r.completedAt!,
      signature: (sig.get(r.responseId) ?? []).sort().join('&'),
    }));
  const bursts = findBursts(rows, rule);
  const ops = bursts.flatMap((ids) =>
    ids.map((responseId) => ({
      updateOne: {
        filter: { responseId, reason: 'identical_burst' as const },
        update: {
          $setOnInsert: {
            responseId,
            reason: 'identical_burst' as const,
            unitCode,
            day,
            params: { count: ids.length, windowMin: rule.windowMin },
            createdAt: now,
          },
        },
        upsert: true,
      },
    })),
  );
  if (ops.length > 0) await Flag.bulkWrite(ops, { ordered: false });
  return ops.length;
}

/** An exclusion without a written reason (at least 5 characters): refused, nothing changed. */
export class ExclusionReasonError extends Error {
  constructor() {
    super('an exclusion needs a written reason');
    this.name = 'ExclusionReasonError';
  }
}

/**
 * Excludes a response from the indices with a written reason (kept in the audit log) and
 * recomputes its bucket; the reports say how many were excluded. `reason` is required.
 */
export async function excludeResponse(
  deps: ScheduleDeps & { redis: RedisClient },
  responseId: string,
  by: string,
  reason: string,
  now = new Date(),
): Promise<boolean> {
  if (reason.trim().length < 5) throw new ExclusionReasonError();
  const r = await Response.findOneAndUpdate(
    { responseId, 'excluded.at': null },
    { $set: { excluded: { at: now, by, reason } } },
    { returnDocument: 'after' },
  ).lean();
  if (!r) return false;
  await appendAudit({
    at: now,
    actor: by,
    action: 'response.excluded',
    targetType: 'response',
    targetId: responseId,
    unitCode: r.unitCode,
    reason,
  });
  if (r.unitCode && r.day) await scheduleRollup(deps, r.unitCode, r.day, 0);
  await scheduleDossierOf(deps, r.dossierCode, 0);
  return true;
}
