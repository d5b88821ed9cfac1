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

/** The caller's top units: those whose parent is not among the units the API listed. */
export function roots(units: UnitRow[]): UnitRow[] {
  const codes = new Set(units.map((u) => u.code));
  return units.filter((u) => !u.parentCode || !codes.has(u.parentCode));
}

/** From the caller's top unit down to `code`, for the breadcrumb (only units in scope). */
export function pathTo(units: UnitRow[], code: string): UnitRow[] {
  const byCode = new Map(units.map((u) => [u.code, u]));
  const out: UnitRow[] = [];
  for (
    let u = byCode.get(code);
    u && out.length < 10;
    u = u.parentCode ? byCode.get(u.parentCode) : undefined
  )
    out.unshift(u);
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
    const p = u.parentCode && codes.has(u.parentCode) ? u.parentCode : null;
    children.set(p, [...(children.get(p) ?? []), u]);
  }
  const out: Array<{ code: string; label: string }> = [];
  const walk = (p: string | null, depth: number) => {
    for (const u of children.get(p) ?? []) {
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

/** This year, last year, this year's quarters so far and the last 12 months (Asia/Ho_Chi_Minh). */
export function periodOptions(t: Translate, now = new Date()): Array<{ key: string; label: string }> {
  const d = DateTime.fromJSDate(now, { zone: ZONE });
  const out = [
    { key: String(d.year), label: t('overview.period.year', { y: d.year }) },
    { key: String(d.year - 1), label: t('overview.period.year', { y: d.year - 1 }) },
  ];
  for (let q = d.quarter; q >= 1; q--)
    out.push({ key: `${d.year}-Q${q}`, label: t('overview.period.quarter', { q, y: d.year }) });
  for (let i = 0; i < 12; i++) {
    const m = d.minus({ months: i });
    out.push({
      key: m.toFormat('yyyy-LL'),
      label: t('overview.period.month', { m: m.toFormat('LL'), y: m.year }),
    });
  }
  return out;
}

function endedDay(iso: string): string {
  return DateTime.fromISO(iso, { zone: ZONE }).toFormat('dd/LL/yyyy');
}

export function defaultPeriod(now = new Date()): string {
  return String(DateTime.fromJSDate(now, { zone: ZONE }).year);
}
