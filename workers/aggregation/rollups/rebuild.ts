import { Answer } from '../../../models/answer';
import { Response } from '../../../models/response';
import { Rollup } from '../../../models/rollup';
import { buildBucket, type BucketAnswer } from './bucket';
import { monthOf } from '../../../lib/time';
import { recomputeMonth } from './month';
import { loadResponses, nextVersions, toBucketResponse, writeBuckets, type BucketWrite } from './recompute';
import type { RollupDeps } from './epochs';
import { Dossier } from '../../../models/dossier';
import { DossierDay } from '../../../models/dossier-day';
import { backfillFinishedDays, recomputeDossierDay } from './dossiers';

export interface RebuildResult {
  units: number;
  days: number;
  buckets: number;
  /** Buckets left alone because a newer version was written meanwhile (by the workers). */
  stale: number;
  /** Unit-months whose totals were summed again from their days (models/rollup-month.ts). */
  months: number;
  responses: number;
  /** Dossiers given their `finishedDay` (stored before it existed). */
  finishedDays: number;
  /** Unit-days whose dossier counts were recounted (dossiers.ts). */
  dossierDays: number;
}

export interface RebuildProgress {
  unitCode: string;
  buckets: number;
  responses: number;
}

/** The day condition of a range: equality for one day (an index hit on FerretDB too). */
type DayCondition = string | { $gte?: string; $lte?: string; $ne?: null };

function dayCondition(from?: string, to?: string): DayCondition {
  if (from && to && from === to) return from;
  if (!from && !to) return { $ne: null };
  return { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) };
}

/**
 * Recomputes every unit-day bucket with completed responses (and every existing rollup) between
 * two days inclusive. One pass over the raw data, a unit at a time: the unit's responses and its
 * answers are each read with one query by `unitCode` equality (answers carry their unit and day
 * once completed, models/answer.ts), so no query lists response ids (FerretDB 1.24 scans the
 * whole collection for `$in`). Same versioning as the incremental job: a unit's versions are
 * taken before its reads (recompute.ts, rule 1), so a rebuild running beside the workers cannot
 * be overwritten by an older read, nor overwrite a newer one. Each unit's touched months are then
 * summed again (month.ts), with the same rule. The dossier counts go first (rebuildDossierDays),
 * so the months sum them too.
 */
export async function rebuildRollups(
  deps: RollupDeps,
  from?: string,
  to?: string,
  onUnit?: (p: RebuildProgress) => void,
): Promise<RebuildResult> {
  const day = dayCondition(from, to);
  const dossiers = await rebuildDossierDays(deps, day);
  const pairs = await Response.aggregate<{ _id: { u: string; d: string } }>([
    { $match: { day, status: 'completed', unitCode: { $ne: null } } },
    { $group: { _id: { u: '$unitCode', d: '$day' } } },
  ]);
  const existing = await Rollup.find({ day }, { _id: 0, unitCode: 1, day: 1 }).lean();
  const daysByUnit = new Map<string, Set<string>>();
  for (const { u, d } of [
    ...pairs.map((p) => p._id),
    ...existing.map((e) => ({ u: e.unitCode, d: e.day })),
  ]) {
    const set = daysByUnit.get(u) ?? new Set<string>();
    set.add(d);
    daysByUnit.set(u, set);
  }
  const now = deps.now ?? (() => new Date());
  const allDays = new Set<string>();
  const result: RebuildResult = {
    units: daysByUnit.size,
    days: 0,
    buckets: 0,
    stale: 0,
    months: 0,
    responses: 0,
    finishedDays: dossiers.finishedDays,
    dossierDays: dossiers.days,
  };
  const summed = new Set<string>();
  for (const unitCode of [...daysByUnit.keys()].sort()) {
    const days = [...daysByUnit.get(unitCode)!].sort();
    // Versions first, reads second; responses before answers (recompute.ts, rules 1 and 4).
    const versions = await nextVersions(deps, unitCode, days);
    const raw = await loadResponses({ unitCode, day });
    const answers = await Answer.find(
      { unitCode, day, element: { $ne: null } },
      { _id: 0, responseId: 1, questionId: 1, element: 1, value: 1, day: 1 },
    ).lean<Array<BucketAnswer & { day: string }>>();
    const responsesByDay = groupBy(raw, (r) => r.day ?? '');
    const answersByDay = groupBy(answers, (a) => a.day);
    // Only the versioned days: a day that appeared since is its own job's (schedule.ts).
    const writes: BucketWrite[] = days.map((d, i) => ({
      day: d,
      version: versions[i],
      bucket: buildBucket((responsesByDay.get(d) ?? []).map(toBucketResponse), answersByDay.get(d) ?? []),
    }));
    const written = await writeBuckets(unitCode, writes, now());
    // Then the unit's months, from all their days (those outside --from/--to included).
    for (const month of new Set(days.map(monthOf))) {
      await recomputeMonth(deps, unitCode, month);
      summed.add(`${unitCode}|${month}`);
      result.months++;
    }
    const counted = days.reduce((n, d) => n + (responsesByDay.get(d)?.length ?? 0), 0);
    result.buckets += written;
    result.stale += writes.length - written;
    result.responses += counted;
    for (const d of days) allDays.add(d);
    onUnit?.({ unitCode, buckets: writes.length, responses: counted });
  }
  // The months with dossier counts and no response.
  for (const um of [...dossiers.months].filter((m) => !summed.has(m)).sort()) {
    const i = um.lastIndexOf('|');
    await recomputeMonth(deps, um.slice(0, i), um.slice(i + 1));
    result.months++;
  }
  result.days = allDays.size;
  return result;
}

/**
 * Stamps `finishedDay` on the dossiers without one, then recounts every unit-day with dossiers
 * finished that day (or an existing count) in the range, each as the `rollup.dossiers` job does
 * (a few at a time). Returns the unit-months touched, for their month figures.
 */
async function rebuildDossierDays(
  deps: RollupDeps,
  day: DayCondition,
): Promise<{ finishedDays: number; days: number; months: Set<string> }> {
  const finishedDays = await backfillFinishedDays();
  const pairs = await Dossier.aggregate<{ _id: { u: string; d: string } }>([
    { $match: { finishedDay: day } },
    { $group: { _id: { u: '$unitCode', d: '$finishedDay' } } },
  ]);
  const existing = await DossierDay.find({ day }, { _id: 0, unitCode: 1, day: 1 }).lean();
  const unitDays = [
    ...new Set([
      ...pairs.map((p) => `${p._id.u}|${p._id.d}`),
      ...existing.map((e) => `${e.unitCode}|${e.day}`),
    ]),
  ].sort();
  const months = new Set<string>();
  for (let i = 0; i < unitDays.length; i += 8) {
    await Promise.all(
      unitDays.slice(i, i + 8).map(async (ud) => {
        const at = ud.lastIndexOf('|');
        const [unitCode, d] = [ud.slice(0, at), ud.slice(at + 1)];
        await recomputeDossierDay(deps, unitCode, d);
        months.add(`${unitCode}|${monthOf(d)}`);
      }),
    );
  }
  return { finishedDays, days: unitDays.length, months };
}

function groupBy<T>(items: readonly T[], keyOf: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = keyOf(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
