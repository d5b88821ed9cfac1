import { hcmDay } from '../../lib/time';
import { Unit } from '../../models/unit';

/**
 * Unit hierarchy for figures. A unit's figures include the units below it (parentCode) and the
 * units merged into it (successorCode), recursively: a commune merged on 1/7/2025 keeps its own
 * history and also counts in its successor's, so trends stay comparable across the merger.
 */
export async function expandUnits(codes: readonly string[]): Promise<string[]> {
  const all = new Set(codes);
  let frontier = [...codes];
  for (let depth = 0; depth < 16 && frontier.length > 0; depth++) {
    const below = await Unit.find({ $or: [{ parentCode: { $in: frontier } }, { successorCode: { $in: frontier } }] }, { code: 1 }).lean();
    frontier = below.map((u) => u.code).filter((c) => !all.has(c));
    frontier.forEach((c) => all.add(c));
  }
  return [...all].sort();
}

export class UnitAccessError extends Error {
  constructor(readonly unitCode: string) {
    super(`unit ${unitCode} is outside the caller's units`);
    this.name = 'UnitAccessError';
  }
}

/**
 * The codes a figure for `unitCode` covers, limited to what the caller may read. `allowed` is
 * the caller's subtree-expanded unit list; `null` means every unit (the CLI, an unscoped key).
 */
export async function scopedUnits(unitCode: string, allowed: readonly string[] | null): Promise<string[]> {
  if (allowed && !allowed.includes(unitCode)) throw new UnitAccessError(unitCode);
  const codes = await expandUnits([unitCode]);
  return allowed ? codes.filter((c) => allowed.includes(c)) : codes;
}

/** Units to rank under a parent for a period: its children that existed on the period's last day ('YYYY-MM-DD'). */
export async function rankableChildren(parentCode: string, lastDay: string): Promise<Array<{ code: string; name: string }>> {
  const children = await Unit.find({ parentCode }, { code: 1, name: 1, validFrom: 1, validTo: 1 }).lean();
  return children
    .filter((u) => (!u.validTo || hcmDay(u.validTo) >= lastDay) && (!u.validFrom || hcmDay(u.validFrom) <= lastDay))
    .map((u) => ({ code: u.code, name: u.name }))
    .sort((a, b) => a.code.localeCompare(b.code));
}
