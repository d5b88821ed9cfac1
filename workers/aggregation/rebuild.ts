import { Response } from '../../models/response';
import { Rollup } from '../../models/rollup';
import { buildBucket } from './bucket';
import { loadAnswers, loadResponses, nextVersion, toBucketResponse, writeBucket, type RollupDeps } from './recompute';

export interface RebuildResult {
  days: number;
  buckets: number;
  responses: number;
}

/**
 * Recomputes every unit-day bucket with completed responses (and every existing rollup) between
 * two days inclusive, one day at a time: all units of a day are read with one query each for
 * responses and answers. Same versioning as the incremental job, so a rebuild running beside the
 * workers cannot be overwritten by an older read, nor overwrite a newer one.
 */
export async function rebuildRollups(deps: RollupDeps, from?: string, to?: string, onDay?: (day: string) => void): Promise<RebuildResult> {
  const dayFilter: Record<string, string> = {};
  if (from) dayFilter.$gte = from;
  if (to) dayFilter.$lte = to;
  const match = Object.keys(dayFilter).length > 0 ? { day: dayFilter } : { day: { $ne: null } };
  const pairs = await Response.aggregate<{ _id: { u: string; d: string } }>([
    { $match: { ...match, status: 'completed', unitCode: { $ne: null } } },
    { $group: { _id: { u: '$unitCode', d: '$day' } } },
  ]);
  const existing = await Rollup.find(match, { unitCode: 1, day: 1 }).lean();
  const byDay = new Map<string, Set<string>>();
  for (const { u, d } of [...pairs.map((p) => p._id), ...existing.map((e) => ({ u: e.unitCode, d: e.day }))]) {
    const set = byDay.get(d) ?? new Set<string>();
    set.add(u);
    byDay.set(d, set);
  }
  const now = deps.now ?? (() => new Date());
  let buckets = 0;
  let responses = 0;
  for (const day of [...byDay.keys()].sort()) {
    const units = [...byDay.get(day)!].sort();
    // Versions first, reads second (recompute.ts, rule 1).
    const versions = await Promise.all(units.map((u) => nextVersion(deps, u, day)));
    const raw = await loadResponses({ day, unitCode: { $in: units } });
    const answers = await loadAnswers(raw.map((r) => r.responseId));
    responses += raw.length;
    const answersBy = new Map<string, typeof answers>();
    const idsByUnit = new Map<string, Set<string>>();
    for (const r of raw) {
      const set = idsByUnit.get(r.unitCode ?? '') ?? new Set<string>();
      set.add(r.responseId);
      idsByUnit.set(r.unitCode ?? '', set);
    }
    for (const [u, ids] of idsByUnit) answersBy.set(u, answers.filter((a) => ids.has(a.responseId)));
    await Promise.all(
      units.map((u, i) =>
        writeBucket(u, day, versions[i], buildBucket(raw.filter((r) => r.unitCode === u).map(toBucketResponse), answersBy.get(u) ?? []), now()),
      ),
    );
    buckets += units.length;
    onDay?.(day);
  }
  return { days: byDay.size, buckets, responses };
}
