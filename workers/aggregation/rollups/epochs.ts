import { key, type RedisClient } from '../../../lib/redis';

/**
 * The epoch counters that version rollups: a day's (recompute.ts), a day's dossier counts
 * (dossiers.ts) and a month's (month.ts). The
 * scheduler (schedule.ts) names a job after the epoch it reads, the recompute INCRs it; both
 * sides read the key names here, so neither imports the other.
 */
export interface RollupDeps {
  redis: RedisClient;
  prefix: string;
  now?: () => Date;
}

export function epochKey(prefix: string, unitCode: string, day: string): string {
  return key(prefix, 'rollup', 'epoch', unitCode, day);
}

export function monthEpochKey(prefix: string, unitCode: string, month: string): string {
  return key(prefix, 'rollup', 'mepoch', unitCode, month);
}

export function dossierEpochKey(prefix: string, unitCode: string, day: string): string {
  return key(prefix, 'rollup', 'depoch', unitCode, day);
}
