import { isDuplicateKey } from '../../../lib/mongo';
import { RollupMonth, rollupMonthId } from '../../../models/rollup-month';
import { FORMULA_VERSION } from '../../../indices/formula';
import {
  loadMonthDays,
  loadMonthDossierDays,
  sumDossierCounts,
  type DossierCounts,
  sumGroups,
  sumTotals,
  type PeriodRollup,
} from '../../../indices/period-sum';
import { packBreakdowns } from '../../../indices/month-breakdowns';
import { monthEpochKey, type RollupDeps } from './epochs';
import { cellsOf, groupsOf } from './bucket';
import { jobId } from '../../job-id';
import { scheduleAtEpoch, type ScheduleDeps } from './schedule';

/**
 * Month figures: the sum of a unit's day rollups for one month, totals and breakdowns, and of
 * its dossier days' counts (models/rollup-month.ts, dossier-day.ts).
 * Derived data, kept exact the same way as the days (recompute.ts): a run INCRs the month's
 * epoch (its version) before it reads the day documents, and writes only over a lower version;
 * a day write (rollup or dossier counts) schedules the month job named after the epoch it reads after that write
 * (scheduleMonth), so a waiting job coalesces and a started one is followed by a new one.
 */
export function monthJobId(unitCode: string, month: string, epoch: string): string {
  return jobId('rollup-month', unitCode, month, `e${epoch}`);
}

/** Asks for the month of a day to be summed again. Call it only AFTER the day rollup is written. */
export function scheduleMonth(
  deps: ScheduleDeps,
  unitCode: string,
  month: string,
  delayMs: number,
): Promise<string> {
  return scheduleAtEpoch(
    deps,
    monthEpochKey(deps.prefix, unitCode, month),
    (epoch) => monthJobId(unitCode, month, epoch),
    'rollup.month',
    { unitCode, month },
    delayMs,
  );
}

/** Sums one unit-month from its day rollups (totals and breakdowns) and writes it unless a newer version is there. */
export async function recomputeMonth(
  deps: RollupDeps,
  unitCode: string,
  month: string,
): Promise<{ version: number; written: boolean; days: number }> {
  const version = await deps.redis.incr(monthEpochKey(deps.prefix, unitCode, month));
  const [days, dossierDays] = await Promise.all([
    loadMonthDays(unitCode, month),
    loadMonthDossierDays(unitCode, month),
  ]);
  const written = await writeMonth(
    unitCode,
    month,
    version,
    days,
    sumDossierCounts(dossierDays),
    (deps.now ?? (() => new Date()))(),
  );
  return { version, written, days: days.length };
}

/** Writes a month's totals unless a newer version is already there. Returns false when stale. */
export async function writeMonth(
  unitCode: string,
  month: string,
  version: number,
  days: readonly PeriodRollup[],
  dossiers: DossierCounts,
  now: Date,
): Promise<boolean> {
  const s = sumTotals(days);
  const doc = {
    unitCode,
    month,
    formulaVersion: FORMULA_VERSION,
    version,
    days: days.length,
    responses: s.responses,
    dissatisfiedResponses: s.dissatisfiedResponses,
    excluded: s.excluded,
    total: cellsOf(s.cells),
    breakdowns: packBreakdowns({
      byProcedure: groupsOf(sumGroups(days, (d) => d.byProcedure)),
      byOfficer: groupsOf(sumGroups(days, (d) => d.byOfficer)),
      byChannel: groupsOf(sumGroups(days, (d) => d.byChannel)),
    }),
    completedDossiers: dossiers.completed,
    badDossiers: dossiers.bad,
    computedAt: now,
  };
  try {
    // By `_id` (an index hit on FerretDB as well as MongoDB).
    await RollupMonth.updateOne(
      { _id: rollupMonthId(unitCode, month), version: { $lt: version } },
      { $set: doc },
      { upsert: true },
    );
    return true;
  } catch (err) {
    // The filter missed because a newer version exists, so the upsert hit the `_id`.
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
