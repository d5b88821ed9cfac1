import { Flag, type FlagParams, type FlagReason } from '../models/flag';
import { Response } from '../models/response';

export interface FlagRow {
  responseId: string;
  unitCode: string;
  day: string;
  reason: FlagReason;
  params: FlagParams | null;
  detail: string | null;
  createdAt: Date;
  /** Whether an admin has excluded the response from the indices. */
  excluded: boolean;
}

/**
 * The flag list an admin reviews: flags of the given units between two days (inclusive), with the
 * reason and whether the response is already excluded. One query per unit (`$in` scans on FerretDB).
 */
export async function listFlags(q: {
  units: readonly string[];
  from: string;
  to: string;
}): Promise<FlagRow[]> {
  const rows: FlagRow[] = [];
  for (const unitCode of new Set(q.units)) {
    const found = await Flag.find(
      { unitCode, day: { $gte: q.from, $lte: q.to } },
      { _id: 0, responseId: 1, unitCode: 1, day: 1, reason: 1, params: 1, detail: 1, createdAt: 1 },
    ).lean<Array<Omit<FlagRow, 'excluded'>>>();
    if (found.length === 0) continue;
    const excluded = await Response.find(
      { unitCode, day: { $gte: q.from, $lte: q.to }, 'excluded.at': { $ne: null } },
      { _id: 0, responseId: 1 },
    ).lean();
    const ids = new Set(excluded.map((r) => r.responseId));
    rows.push(...found.map((f) => ({ ...f, excluded: ids.has(f.responseId) })));
  }
  return rows.sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.responseId.localeCompare(b.responseId) ||
      a.reason.localeCompare(b.reason),
  );
}
