import type { AnyBulkWriteOperation } from 'mongoose';
import { isDuplicateKey } from '../../../lib/mongo';
import { hcmDay, monthOf } from '../../../lib/time';
import { Case } from '../../../models/case';
import { Dossier } from '../../../models/dossier';
import { DossierDay, dossierDayId } from '../../../models/dossier-day';
import { Response } from '../../../models/response';
import type { DossierCounts } from '../../../indices/period-sum';
import { jobId } from '../../job-id';
import { dossierEpochKey, type RollupDeps } from './epochs';
import { ROLLUP_COALESCE_MS, scheduleAtEpoch, type ScheduleDeps } from './schedule';

/**
 * The dossier counts of a unit-day (models/dossier-day.ts): the dossiers of the unit whose
 * `finishedDay` is that day, `completed` those finished or returned, `bad` those of them with a
 * non-excluded dissatisfied completed response or a case not closed or closed late. Kept exact
 * as the day rollups are (recompute.ts): a run INCRs the unit-day's dossier epoch, then reads;
 * its write replaces only a lower version; whatever changes an input schedules the job named
 * after the epoch it reads after its own write (scheduleDossierDay, scheduleDossierOf).
 *
 * Each completed dossier is looked up by `dossierCode` equality in responses (a unique index)
 * and cases (an index): two index hits per dossier, a few dozen a unit-day, and exact whatever
 * unit or day the response or the case carries. A per-dossier "bad" flag kept on the dossier
 * would be derived data of its own, written by four writers in two collections without a
 * transaction; recounting from the sources keeps one rule.
 */
export interface DayDossier {
  code: string;
  status: string;
}

const COMPLETED = new Set(['finished', 'returned']);

/** The day of a finish time as the dossier keeps it (`finishedDay`). */
export const finishedDayOf = (finishedAt: Date | null | undefined): string | null =>
  finishedAt ? hcmDay(finishedAt) : null;

/** Pure: the counts of one unit-day's dossiers, given which dossier codes are bad. */
export function countDossiers(
  dossiers: readonly DayDossier[],
  isBad: (code: string) => boolean,
): DossierCounts {
  let completed = 0;
  let bad = 0;
  for (const d of dossiers) {
    if (!COMPLETED.has(d.status)) continue;
    completed++;
    if (isBad(d.code)) bad++;
  }
  return { completed, bad };
}

/** A non-excluded dissatisfied completed response, or a case not closed or closed late. */
export async function dossierIsBad(code: string): Promise<boolean> {
  const [response, unhappy] = await Promise.all([
    Response.findOne(
      { dossierCode: code, status: 'completed', dissatisfied: true, 'excluded.at': null },
      { _id: 1 },
    ).lean(),
    Case.findOne(
      { dossierCode: code, $or: [{ status: { $ne: 'closed' } }, { closedOnTime: false }] },
      { _id: 1 },
    ).lean(),
  ]);
  return response !== null || unhappy !== null;
}

export function dossierJobId(unitCode: string, day: string, epoch: string): string {
  return jobId('rollup-dossiers', unitCode, day, `e${epoch}`);
}

/** Asks for a unit-day's dossier counts. Call it only AFTER the change is stored. */
export function scheduleDossierDay(
  deps: ScheduleDeps,
  unitCode: string,
  day: string,
  delayMs = ROLLUP_COALESCE_MS,
): Promise<string> {
  return scheduleAtEpoch(
    deps,
    dossierEpochKey(deps.prefix, unitCode, day),
    (epoch) => dossierJobId(unitCode, day, epoch),
    'rollup.dossiers',
    { unitCode, day },
    delayMs,
  );
}

/**
 * The same for the day a dossier is counted in, found by its code (a response or a case
 * changed): nothing when there is no such dossier or it has no finish day.
 */
export async function scheduleDossierOf(
  deps: ScheduleDeps,
  dossierCode: string | null | undefined,
  delayMs = ROLLUP_COALESCE_MS,
): Promise<void> {
  if (!dossierCode) return;
  const d = await Dossier.findOne({ code: dossierCode }, { _id: 0, unitCode: 1, finishedDay: 1 }).lean();
  if (d?.finishedDay) await scheduleDossierDay(deps, d.unitCode, d.finishedDay, delayMs);
}

/** Writes a unit-day's counts unless a newer version is already there. Returns false when stale. */
export async function writeDossierDay(
  unitCode: string,
  day: string,
  version: number,
  counts: DossierCounts,
  now: Date,
): Promise<boolean> {
  try {
    // By `_id` (an index hit on FerretDB as well as MongoDB).
    await DossierDay.updateOne(
      { _id: dossierDayId(unitCode, day), version: { $lt: version } },
      { $set: { unitCode, day, month: monthOf(day), version, ...counts, computedAt: now } },
      { upsert: true },
    );
    return true;
  } catch (err) {
    // The filter missed because a newer version exists, so the upsert hit the `_id`.
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export function nextDossierVersion(deps: RollupDeps, unitCode: string, day: string): Promise<number> {
  return deps.redis.incr(dossierEpochKey(deps.prefix, unitCode, day));
}

/** Recounts one unit-day's dossiers (idempotent). */
export async function recomputeDossierDay(
  deps: RollupDeps,
  unitCode: string,
  day: string,
): Promise<{ version: number; written: boolean } & DossierCounts> {
  const version = await nextDossierVersion(deps, unitCode, day);
  const dossiers = await Dossier.find({ unitCode, finishedDay: day }, { _id: 0, code: 1, status: 1 }).lean<
    DayDossier[]
  >();
  const bad = new Set<string>();
  await Promise.all(
    dossiers
      .filter((d) => COMPLETED.has(d.status))
      .map(async (d) => {
        if (await dossierIsBad(d.code)) bad.add(d.code);
      }),
  );
  const counts = countDossiers(dossiers, (c) => bad.has(c));
  const written = await writeDossierDay(unitCode, day, version, counts, (deps.now ?? (() => new Date()))());
  return { version, written, ...counts };
}

/**
 * Migration for dossiers stored before they carried `finishedDay`: stamps it from `finishedAt`
 * on every dossier with a finish time and no day. Idempotent, a batch per round trip, each by
 * `code` equality.
 */
export async function backfillFinishedDays(batchSize = 500): Promise<number> {
  let stamped = 0;
  let ops: AnyBulkWriteOperation[] = [];
  const flush = async () => {
    if (ops.length === 0) return;
    stamped += (await Dossier.bulkWrite(ops, { ordered: false })).modifiedCount;
    ops = [];
  };
  const cursor = Dossier.find(
    { finishedAt: { $ne: null }, finishedDay: null },
    { _id: 0, code: 1, finishedAt: 1 },
  )
    .lean()
    .cursor();
  for await (const d of cursor) {
    ops.push({
      updateOne: {
        filter: { code: d.code, finishedAt: d.finishedAt },
        update: { $set: { finishedDay: finishedDayOf(d.finishedAt) } },
      },
    });
    if (ops.length >= batchSize) await flush();
  }
  await flush();
  return stamped;
}
