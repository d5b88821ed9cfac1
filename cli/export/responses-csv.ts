import { parsePeriod } from '../../lib/time';
import { UserError } from '../../lib/user-error';
import { Unit } from '../../models/unit';
import { writeResponsesCsv as writeCsv } from '../../indices/response-export';
import { expandUnits } from '../../indices/units';

export interface ExportFilter {
  /** This unit and every unit below it (children, and units merged into it). */
  unit?: string;
  /** Inclusive Asia/Ho_Chi_Minh days of completion, YYYY-MM-DD. */
  from?: string;
  to?: string;
}

/** A filter the export cannot apply (an unknown unit, a bad day). */
export class ExportError extends UserError {
  constructor(vi: string, en: string) {
    super(vi, en, 2);
    this.name = 'ExportError';
  }
}

/**
 * The unit and all units below it: children by parentCode, and units merged into it by
 * successorCode (their history belongs to the unit that took them over), as the reports count.
 */
async function unitAndDescendants(code: string): Promise<string[]> {
  if (!(await Unit.exists({ code })))
    throw new ExportError(`không có đơn vị mã "${code}"`, `unknown unit "${code}"`);
  return expandUnits([code]);
}

function dayKey(name: string, value: string): string {
  try {
    if (parsePeriod(value).kind === 'day') return value;
  } catch {
    // fall through to the error below
  }
  throw new ExportError(
    `--${name}: ngày không hợp lệ "${value}", cần dạng YYYY-MM-DD`,
    `--${name}: expected a day YYYY-MM-DD, got "${value}"`,
  );
}

async function buildFilter(f: ExportFilter): Promise<Record<string, unknown>> {
  const q: Record<string, unknown> = { status: 'completed' };
  if (f.unit) q.unitCode = { $in: await unitAndDescendants(f.unit) };
  const day: Record<string, string> = {};
  if (f.from) day.$gte = dayKey('from', f.from);
  if (f.to) day.$lte = dayKey('to', f.to);
  if (f.from && f.to && f.from > f.to) throw new ExportError('--from sau --to', '--from is after --to');
  if (Object.keys(day).length > 0) q.day = day;
  return q;
}

/**
 * Writes completed responses as CSV (indices/response-export.ts), free text included: the
 * server's operator exports everything.
 */
export async function writeResponsesCsv(
  out: NodeJS.WritableStream,
  f: ExportFilter = {},
): Promise<{ rows: number }> {
  return writeCsv(out, await buildFilter(f), { freeText: true });
}
