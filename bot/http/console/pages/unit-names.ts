import type { ConsoleApi } from '../api';
import type { UnitRow } from './overview-model';

/** A unit as an official reads it: "Xã An Phú (26734)"; a code the caller cannot see, as it is. */
export type UnitName = (code: string) => string;

/**
 * Names of the units in `units`, with the code beside (merged communes share names with their
 * successors, and officials quote codes). A code not among them (a unit outside the caller's
 * scope, such as the district a case escalated to) stays the code: the page shows what the
 * caller may know.
 */
export function unitNamer(units: UnitRow[]): UnitName {
  const names = new Map(units.map((u) => [u.code, u.name]));
  return (code) => {
    const name = names.get(code);
    return name && name !== code ? `${name} (${code})` : code;
  };
}

/** The names of a page's units: one GET /units for the whole page, not one read per row. */
export async function readUnitNames(api: ConsoleApi): Promise<UnitName> {
  const { units } = await api.get<{ units: UnitRow[] }>('/units');
  return unitNamer(units);
}
