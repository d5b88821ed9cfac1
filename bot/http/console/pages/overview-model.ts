import { DateTime } from 'luxon';
import { ZONE } from '../../../../lib/time';
import type { Translate } from '../i18n';

/** A unit as GET /api/v1/units answers. */
export interface UnitRow {
  code: string;
  name: string;
  level: string;
  parentCode: string | null;
  validTo: string | null;
  successorCode: string | null;
}

/** Shapes of GET /api/v1/indices and /indices/ranking that the page reads (the API's schemas hold the rest). */
export interface Share {
  n: number;
  satisfied: number;
  dissatisfied: number;
  na: number;
  index: number | null;
  ci95: { low: number; high: number } | null;
}
export interface Ratio {
  numerator: number;
  denominator: number;
  value: number | null;
  ci95: { low: number; high: number } | null;
}
export interface Keyed {
  key: string;
  responses: number;
  overall: Share;
}
export interface IndexReport {
  unit: string;
  unitName: string | null;
  period: string;
  from: string;
  to: string;
  responses: number;
  excludedResponses: number;
  elements: Record<string, Share>;
  overall: Share;
  responseRate: Ratio;
  ratio766: Ratio;
  cases?: { open: number; overdue: number; escalated: number; opened: number; closed: number };
  trend?: Array<{ period: string; responses: number; index: number | null }>;
  byProcedure?: Keyed[];
  byOfficer?: { minN: number; withheld: number; rows: Keyed[] };
}
export interface Ranking {
  minN: number;
  rows: Array<{
    unitCode: string;
    name: string;
    responses: number;
    index: number | null;
    rank: number | null;
    ci95: { low: number; high: number } | null;
  }>;
}

/** The SIPAS elements in the order of the survey, then the overall question. */
export const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];

/**
 * Where a unit sits in the caller's tree: under its parent when the caller sees the parent, else
 * under the unit it was merged into (a commune's own predecessors), else at the top.
 */
function placeOf(u: UnitRow, codes: Set<string>): string | null {
  if (u.parentCode && codes.has(u.parentCode)) return u.parentCode;
  if (u.successorCode && codes.has(u.successorCode)) return u.successorCode;
  return null;
}

/** The caller's top units, those that still exist first (the default of the page is the first). */
export function roots(units: UnitRow[], now = new Date()): UnitRow[] {
  const codes = new Set(units.map((u) => u.code));
  const ended = (u: UnitRow) => (u.validTo && new Date(u.validTo) <= now ? 1 : 0);
  return units.filter((u) => placeOf(u, codes) === null).sort((a, b) => ended(a) - ended(b));
}

/** From the caller's top unit down to `code`, for the breadcrumb (only units in scope). */
export function pathTo(units: UnitRow[], code: string): UnitRow[] {
  const byCode = new Map(units.map((u) => [u.code, u]));
  const out: UnitRow[] = [];
  const codes = new Set(byCode.keys());
  for (let u = byCode.get(code); u && out.length < 10;) {
    out.unshift(u);
    const up = placeOf(u, codes);
    u = up ? byCode.get(up) : undefined;
  }
  return out;
}

/**
 * Units in tree order, indented by depth, for the unit selector. Units that ended (the merges of
 * 1/7/2025) stay, marked with their last day: their figures are history, not gone.
 */
export function treeOptions(
  units: UnitRow[],
  t: Translate,
  now = new Date(),
): Array<{ code: string; label: string }> {
  const children = new Map<string | null, UnitRow[]>();
  const codes = new Set(units.map((u) => u.code));
  for (const u of units) {
    const p = placeOf(u, codes);
    children.set(p, [...(children.get(p) ?? []), u]);
  }
  const out: Array<{ code: string; label: string }> = [];
  const walk = (p: string | null, depth: number) => {
    for (const u of p === null ? roots(units, now) : (children.get(p) ?? [])) {
      const ended =
        u.validTo && new Date(u.validTo) <= now
          ? ` ${t('overview.ended', { day: endedDay(u.validTo) })}`
          : '';
      out.push({ code: u.code, label: `${'\u00a0\u00a0'.repeat(depth)}${u.name}${ended}` });
      if (depth < 8) walk(u.code, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/**
 * The periods offered: the last three years, and the quarters and months (up to now) of the year
 * being looked at (Asia/Ho_Chi_Minh).
 */
export function periodOptions(
  t: Translate,
  selected: string,
  now = new Date(),
): Array<{ key: string; label: string }> {
  const d = DateTime.fromJSDate(now, { zone: ZONE });
  const year = Math.min(Number(selected.slice(0, 4)) || d.year, d.year);
  const out: Array<{ key: string; label: string }> = [];
  for (const y of [d.year, d.year - 1, d.year - 2]) {
    out.push({ key: String(y), label: t('overview.period.year', { y }) });
    if (y !== year) continue;
    const lastMonth = y === d.year ? d.month : 12;
    for (let q = 1; q <= Math.ceil(lastMonth / 3); q++)
      out.push({ key: `${y}-Q${q}`, label: t('overview.period.quarter', { q, roman: ROMAN[q - 1]!, y }) });
    for (let m = 1; m <= lastMonth; m++) {
      const mm = String(m).padStart(2, '0');
      out.push({ key: `${y}-${mm}`, label: t('overview.period.month', { m: mm, y }) });
    }
  }
  return out;
}

const ROMAN = ['I', 'II', 'III', 'IV'];

function endedDay(iso: string): string {
  return DateTime.fromISO(iso, { zone: ZONE }).toFormat('dd/LL/yyyy');
}

export function defaultPeriod(now = new Date()): string {
  return String(DateTime.fromJSDate(now, { zone: ZONE }).year);
}
