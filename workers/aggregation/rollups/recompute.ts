import type { Redis } from 'ioredis';
import { key } from '../../../lib/redis';
import { isDuplicateKey, onlyDuplicateKeys } from '../../../lib/mongo';
import { Answer } from '../../../models/answer';
import { Response } from '../../../models/response';
import { Rollup } from '../../../models/rollup';
import { buildBucket, type Bucket, type BucketAnswer, type BucketResponse } from './bucket';
import { FORMULA_VERSION } from '../../../indices/formula';
import { monthOf } from './month';

/**
 * Rebuilds unit-day buckets from the raw answers. Exact under retries, duplicate jobs, crashes
 * and out-of-order completion because:
 *  1. a run first INCRs the bucket's epoch counter (its `version`), then reads the raw data, so
 *     a run with a higher version read later than every lower one;
 *  2. the write only replaces a document of a lower version, so the last reader wins whatever
 *     order the writes land in;
 *  3. the scheduler (schedule.ts) names the job after the epoch it read *after* the answer was
 *     stored: either that job has not INCRed yet (so it reads after the answer) or the epoch has
 *     moved on and the name is new (so a fresh job runs). No update is lost to deduplication.
 */
export interface RollupDeps {
  redis: Redis;
  prefix: string;
  now?: () => Date;
}

export function epochKey(prefix: string, unitCode: string, day: string): string {
  return key(prefix, 'rollup', 'epoch', unitCode, day);
}

const RESPONSE_FIELDS = { responseId: 1, unitCode: 1, day: 1, procedureCode: 1, officerId: 1, dossierChannel: 1, onlineLevel: 1, dissatisfied: 1, excluded: 1 } as const;

interface RawResponse {
  responseId: string;
  unitCode?: string | null;
  day?: string | null;
  procedureCode?: string | null;
  officerId?: string | null;
  dossierChannel?: string | null;
  onlineLevel?: number | null;
  dissatisfied?: boolean | null;
  excluded?: { at?: Date | null } | null;
}

export function toBucketResponse(r: RawResponse): BucketResponse {
  return {
    responseId: r.responseId,
    procedureCode: r.procedureCode ?? null,
    officerId: r.officerId ?? null,
    dossierChannel: r.dossierChannel ?? null,
    onlineLevel: r.onlineLevel ?? null,
    dissatisfied: r.dissatisfied === true,
    excluded: !!r.excluded?.at,
  };
}

export async function loadResponses(filter: Record<string, unknown>): Promise<RawResponse[]> {
  return Response.find({ ...filter, status: 'completed' }, RESPONSE_FIELDS).lean<RawResponse[]>();
}

const ANSWER_FIELDS = { _id: 0, responseId: 1, questionId: 1, element: 1, value: 1 } as const;

/**
 * The answers of the given responses. Slow on FerretDB 1.24 (no index for `$in`: a scan of all
 * answers); the rollups read by unit and day instead (loadBucketAnswers).
 */
export async function loadAnswers(responseIds: string[]): Promise<BucketAnswer[]> {
  if (responseIds.length === 0) return [];
  return Answer.find({ responseId: { $in: responseIds }, element: { $ne: null } }, ANSWER_FIELDS).lean<BucketAnswer[]>();
}

/**
 * The answers counted in one unit-day: stamped with the response's unit and day when it
 * completed (workers/jobs/completed-response-writer.ts), read by equality on the `{unitCode, day}` index.
 */
export async function loadBucketAnswers(unitCode: string, day: string): Promise<BucketAnswer[]> {
  return Answer.find({ unitCode, day, element: { $ne: null } }, ANSWER_FIELDS).lean<BucketAnswer[]>();
}

/** Writes a bucket unless a newer version is already there. Returns false when it was stale. */
export async function writeBucket(unitCode: string, day: string, version: number, bucket: Bucket, now: Date): Promise<boolean> {
  try {
    await Rollup.updateOne(
      { unitCode, day, version: { $lt: version } },
      { $set: { ...bucket, month: monthOf(day), formulaVersion: FORMULA_VERSION, version, computedAt: now }, $setOnInsert: { unitCode, day } },
      { upsert: true },
    );
    return true;
  } catch (err) {
    // The filter missed because a newer version exists, so the upsert hit the unique index.
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export interface BucketWrite {
  day: string;
  version: number;
  bucket: Bucket;
}

/**
 * writeBucket for many days of one unit in one round trip (the rebuild). Returns how many were
 * written; the others were stale (a newer version was already there).
 */
export async function writeBuckets(unitCode: string, writes: readonly BucketWrite[], now: Date): Promise<number> {
  if (writes.length === 0) return 0;
  const ops = writes.map((w) => ({
    updateOne: {
      filter: { unitCode, day: w.day, version: { $lt: w.version } },
      update: { $set: { ...w.bucket, month: monthOf(w.day), formulaVersion: FORMULA_VERSION, version: w.version, computedAt: now }, $setOnInsert: { unitCode, day: w.day } },
      upsert: true,
    },
  }));
  try {
    await Rollup.bulkWrite(ops, { ordered: false });
    return writes.length;
  } catch (err) {
    const duplicates = onlyDuplicateKeys(err);
    if (duplicates === null) throw err;
    return writes.length - duplicates;
  }
}

export async function nextVersion(deps: RollupDeps, unitCode: string, day: string): Promise<number> {
  return deps.redis.incr(epochKey(deps.prefix, unitCode, day));
}

/** nextVersion for many days of one unit, in one round trip. */
export async function nextVersions(deps: RollupDeps, unitCode: string, days: readonly string[]): Promise<number[]> {
  if (days.length === 0) return [];
  const pipe = deps.redis.pipeline();
  for (const d of days) pipe.incr(epochKey(deps.prefix, unitCode, d));
  const res = (await pipe.exec()) ?? [];
  return res.map(([err, v], i) => {
    if (err) throw err;
    if (typeof v !== 'number') throw new Error(`epoch INCR of ${unitCode} ${days[i]} returned ${String(v)}`);
    return v;
  });
}

/** Recomputes one unit-day from the raw answers (idempotent). */
export async function recomputeBucket(deps: RollupDeps, unitCode: string, day: string): Promise<{ version: number; written: boolean }> {
  const version = await nextVersion(deps, unitCode, day);
  const responses = await loadResponses({ unitCode, day });
  // Read after the responses: an answer is stamped before its response is marked completed.
  const answers = await loadBucketAnswers(unitCode, day);
  const bucket = buildBucket(responses.map(toBucketResponse), answers);
  const written = await writeBucket(unitCode, day, version, bucket, (deps.now ?? (() => new Date()))());
  return { version, written };
}
