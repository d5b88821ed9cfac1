import { hcmDay } from '../lib/time';
import { Unit } from '../models/unit';

// One implementation of unit scope for figures and for callers: lib/auth/scope.ts.
export { expandUnits, scopedUnits, UnitAccessError, UnitLinks } from '../lib/auth/scope';

/** Units to rank under a parent for a period: its children that existed on the period's last day ('YYYY-MM-DD'). */
export async function rankableChildren(
  parentCode: string,
  lastDay: string,
): Promise<Array<{ code: string; name: string }>> {
  const children = await Unit.find({ parentCode }, { code: 1, name: 1, validFrom: 1, validTo: 1 }).lean();
  return children
    .filter(
      (u) => (!u.validTo || hcmDay(u.validTo) >= lastDay) && (!u.validFrom || hcmDay(u.validFrom) <= lastDay),
    )
    .map((u) => ({ code: u.code, name: u.name }))
    .sort((a, b) => a.code.localeCompare(b.code));
}
