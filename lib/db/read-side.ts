import type { Env } from '../../config/env';

/**
 * Where the read side's queries go on a replica set (MONGO_READ_PREFERENCE): the dashboards',
 * reports' and public pages' figures (rollups, responses, dossiers and cases read for a period)
 * may read from a secondary, at the cost of a lag of a few seconds. Never the conversation's
 * path, the writers or anything that reads its own write: those stay on the primary (the
 * connection's default), which is why this is applied per query and not in the URI.
 */
export type ReadPreferenceMode = Env['MONGO_READ_PREFERENCE'];

let preference: ReadPreferenceMode = 'primary';

/** Set once at start (app/start.ts, the CLI's connection) from MONGO_READ_PREFERENCE. */
export function setReadSidePreference(mode: ReadPreferenceMode): void {
  preference = mode;
}

export function readSidePreference(): ReadPreferenceMode {
  return preference;
}

/** A read-side query with the read side's preference (unchanged on `primary`). */
export function readSide<Q extends { read(mode: string): Q }>(query: Q): Q {
  return preference === 'primary' ? query : query.read(preference);
}
