import { Flag, type FlagReason } from '../../models/flag';

/** One response to flag, with the unit-day it counts in. */
export interface FlagTarget {
  responseId: string;
  unitCode: string;
  day: string;
}

/** Flags responses for one reason; idempotent (one flag per response and reason, the first detail kept). */
export async function upsertFlags(targets: readonly FlagTarget[], reason: FlagReason, detail: string, now = new Date()): Promise<number> {
  if (targets.length === 0) return 0;
  const r = await Flag.bulkWrite(
    targets.map((t) => ({
      updateOne: {
        filter: { responseId: t.responseId, reason },
        update: { $setOnInsert: { responseId: t.responseId, reason, unitCode: t.unitCode, day: t.day, detail, createdAt: now } },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  return r.upsertedCount;
}

export interface FlagRow {
  responseId: string;
  unitCode: string;
  day: string;
  reason: FlagReason;
  detail: string | null;
  createdAt: Date;
}

/**
 * The flag list an admin reviews: flags of the given units between two days (inclusive), with the
 * reason and whether the response is already excluded. One query per unit (`$in` scans on FerretDB).
 */
export async function listFlags(q: { units: readonly string[]; from: string; to: string }): Promise<FlagRow[]> {
  const rows: FlagRow[] = [];
  for (const unitCode of q.units) {
    const found = await Flag.find({ unitCode, day: { $gte: q.from, $lte: q.to } }, { _id: 0, responseId: 1, unitCode: 1, day: 1, reason: 1, detail: 1, createdAt: 1 }).lean<FlagRow[]>();
    rows.push(...found);
  }
  return rows.sort((a, b) => a.day.localeCompare(b.day) || a.responseId.localeCompare(b.responseId) || a.reason.localeCompare(b.reason));
}
