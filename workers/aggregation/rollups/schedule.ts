import type { RedisClient } from '../../../lib/redis';
import { jobId } from '../../job-id';
import { epochKey } from './epochs';

/** Answers landing within this window of each other are counted by one recompute. */
export const ROLLUP_COALESCE_MS = 2000;

export interface ScheduleDeps {
  redis: RedisClient;
  prefix: string;
  enqueue(name: string, payload: unknown, opts?: { jobId?: string; delay?: number }): Promise<void>;
}

/** `rollup-<unit>-<day>-e<epoch>`: one job per unit-day and epoch. */
export function recomputeJobId(unitCode: string, day: string, epoch: string): string {
  return jobId('rollup', unitCode, day, `e${epoch}`);
}

/**
 * Asks for a recompute of a unit-day. Call it only AFTER the raw data is stored. The job id
 * carries the bucket's current epoch: while the job for that epoch waits (delayed), further
 * calls coalesce into it; once it has started (and INCRed the epoch) a call gets a new id and so
 * a new job. See recompute.ts for why this loses nothing.
 */
export function scheduleRollup(
  deps: ScheduleDeps,
  unitCode: string,
  day: string,
  delayMs = ROLLUP_COALESCE_MS,
): Promise<string> {
  return scheduleAtEpoch(
    deps,
    epochKey(deps.prefix, unitCode, day),
    (epoch) => recomputeJobId(unitCode, day, epoch),
    'rollup.recompute',
    { unitCode, day },
    delayMs,
  );
}

/**
 * The scheduling rule shared by day rollups and month totals: the job is named after the epoch
 * read now, after the data it must count was written (see recompute.ts).
 */
export async function scheduleAtEpoch(
  deps: ScheduleDeps,
  epochKeyName: string,
  jobIdOf: (epoch: string) => string,
  name: string,
  payload: unknown,
  delayMs: number,
): Promise<string> {
  const jobId = jobIdOf((await deps.redis.get(epochKeyName)) ?? '0');
  await deps.enqueue(name, payload, { jobId, delay: delayMs });
  return jobId;
}
