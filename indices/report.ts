import { parsePeriod, type Period } from '../lib/time';
import { Case } from '../models/case';
import { Unit } from '../models/unit';
import {
  elementShares,
  FORMULA_VERSION,
  INDEX_LABEL_EN,
  INDEX_LABEL_VI,
  ratio,
  ratio766,
  responseRate,
  type Ratio,
  type Share,
} from './formula';
import {
  loadPeriod,
  type DossierCounts,
  sumGroups,
  sumTotals,
  type PeriodRollup,
  type Summed,
} from './period-sum';
import type { MonthCache } from './month-cache';
import { scopedUnits } from './units';

export interface ReportQuery {
  unit: string;
  period: string;
  /** The caller's unit codes, subtree-expanded; null = every unit (CLI). */
  units: readonly string[] | null;
  procedure?: string;
  officer?: string;
  /** in_person | online_3 | online_4 | online | post */
  channel?: string;
  officerMinN: number;
  /** Leave out breakdowns, trend and cases (the index alone). */
  indexOnly?: boolean;
  /** Month documents kept between requests (indices/month-cache.ts; the API's processes). */
  cache?: MonthCache | null;
  now?: Date;
}

export interface Figures {
  responses: number;
  dissatisfiedResponses: number;
  elements: Record<string, Share>;
  overall: Share;
}

export interface CaseStats {
  opened: number;
  open: number;
  overdue: number;
  escalated: number;
  closed: number;
  closedOnTime: number;
  /** Cases handled on time over cases due (closed, or open past their due time). */
  onTime: Ratio;
}

export interface Report extends Figures {
  label: string;
  labelEn: string;
  formulaVersion: number;
  unit: string;
  unitName: string | null;
  period: string;
  from: string;
  to: string;
  filters: { procedure: string | null; officer: string | null; channel: string | null };
  /** Unit codes whose figures are included (subtree and merged predecessors). */
  unitsIncluded: string[];
  excludedResponses: number;
  responseRate: Ratio;
  ratio766: Ratio & { completedDossiers: number; dossiersWithDissatisfactionOrOpenCase: number };
  cases?: CaseStats;
  trend?: Array<{ period: string; responses: number; index: number | null }>;
  byChannel?: Array<Figures & { key: string }>;
  byProcedure?: Array<Figures & { key: string }>;
  byOfficer?: { minN: number; withheld: number; rows: Array<Figures & { key: string }> };
}

export function figuresOf(s: Summed): Figures {
  const { elements, overall } = elementShares(s.cells);
  return { responses: s.responses, dissatisfiedResponses: s.dissatisfiedResponses, elements, overall };
}

function filtered(
  docs: PeriodRollup[],
  base: Summed & { excluded: number },
  q: ReportQuery,
): Summed & { excluded: number } {
  const filters: Array<[string | undefined, (d: PeriodRollup) => PeriodRollup['byProcedure']]> = [
    [q.procedure, (d) => d.byProcedure],
    [q.officer, (d) => d.byOfficer],
    [q.channel, (d) => d.byChannel],
  ];
  const active = filters.filter(([v]) => v !== undefined);
  if (active.length === 0) return base;
  // One filter at a time: rollups keep one-dimensional breakdowns (documented in docs/indices.md).
  if (active.length > 1) throw new Error('filter by one of procedure, officer or channel at a time');
  const [value, pick] = active[0];
  const g = sumGroups(docs, pick).get(value!);
  return {
    responses: g?.responses ?? 0,
    dissatisfiedResponses: g?.dissatisfiedResponses ?? 0,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- an empty Map for a group with no rows
    cells: g?.cells ?? new Map(),
    excluded: base.excluded,
  };
}

/**
 * Response rate and the 766 ratio, from the dossier counts of the period's months and edge days
 * (loadPeriod; counted per unit and finish day by workers/aggregation/rollups/dossiers.ts).
 */
function dossierFigures(
  { completed: completedDossiers, bad: badDossiers }: DossierCounts,
  responses: number,
) {
  return {
    responseRate: responseRate(responses, completedDossiers),
    ratio766: {
      ...ratio766(completedDossiers, badDossiers),
      completedDossiers,
      dossiersWithDissatisfactionOrOpenCase: badDossiers,
    },
  };
}

export async function caseStats(codes: string[], p: Period, now: Date): Promise<CaseStats> {
  // One query per unit by `unitCode` equality, never `unitCode: {$in}` (FerretDB 1.24 pushes it
  // not down: a pass over the whole collection).
  const cases = (
    await Promise.all(
      [...new Set(codes)].map((unitCode) =>
        Case.find(
          { unitCode, day: { $gte: p.firstDay, $lte: p.lastDay } },
          { _id: 0, status: 1, dueAt: 1, escalatedAt: 1, closedOnTime: 1 },
        ).lean(),
      ),
    )
  ).flat();
  const closed = cases.filter((c) => c.status === 'closed');
  const open = cases.filter((c) => c.status !== 'closed');
  const overdue = open.filter((c) => c.dueAt < now).length;
  const closedOnTime = closed.filter((c) => c.closedOnTime === true).length;
  return {
    opened: cases.length,
    open: open.length,
    overdue,
    escalated: cases.filter((c) => c.escalatedAt).length,
    closed: closed.length,
    closedOnTime,
    onTime: ratio(closedOnTime, closed.length + overdue),
  };
}

function breakdown(
  docs: PeriodRollup[],
  pick: (d: PeriodRollup) => PeriodRollup['byProcedure'],
): Array<Figures & { key: string }> {
  return [...sumGroups(docs, pick).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, s]) => ({ key, ...figuresOf(s) }));
}

/** The report of one unit (with its subtree and predecessors) for one period. */
export async function buildReport(q: ReportQuery): Promise<Report> {
  const p = parsePeriod(q.period);
  const codes = await scopedUnits(q.unit, q.units);
  // Whole months come from their month figures, the days at the period's edges from day rollups;
  // the index alone (no breakdown, no filter) reads their totals only.
  const breakdowns = !q.indexOnly || !!(q.procedure || q.officer || q.channel);
  // The reads below depend on `codes` only, not on one another: one round of round-trips. The
  // figures and the dossier counts come from one read of each unit's months (loadPeriod).
  const [{ docs, dossiers }, unit, cases] = await Promise.all([
    loadPeriod(codes, p.firstDay, p.lastDay, {
      figures: breakdowns ? 'breakdowns' : 'totals',
      dossiers: true,
      cache: q.cache ?? null,
    }),
    Unit.findOne({ code: q.unit }, { name: 1 }).lean(),
    q.indexOnly ? Promise.resolve(null) : caseStats(codes, p, q.now ?? new Date()),
  ]);
  const all = sumTotals(docs);
  const sum = breakdowns ? filtered(docs, all, q) : all;
  const report: Report = {
    label: INDEX_LABEL_VI,
    labelEn: INDEX_LABEL_EN,
    formulaVersion: FORMULA_VERSION,
    unit: q.unit,
    unitName: unit?.name ?? null,
    period: p.key,
    from: p.firstDay,
    to: p.lastDay,
    filters: { procedure: q.procedure ?? null, officer: q.officer ?? null, channel: q.channel ?? null },
    unitsIncluded: codes,
    excludedResponses: sum.excluded,
    ...figuresOf(sum),
    ...dossierFigures(dossiers, all.responses),
  };
  if (q.indexOnly) return report;

  report.cases = cases!;
  const months = new Map<string, PeriodRollup[]>();
  for (const d of docs) months.set(d.month, [...(months.get(d.month) ?? []), d]);
  report.trend = [...months.keys()].sort().map((m) => {
    const f = figuresOf(sumTotals(months.get(m)!));
    return { period: m, responses: f.responses, index: f.overall.index };
  });
  report.byChannel = breakdown(docs, (d) => d.byChannel);
  report.byProcedure = breakdown(docs, (d) => d.byProcedure);
  // Per-officer figures only from OFFICER_MIN_N responses up, so no answer can be traced to a citizen.
  const officers = breakdown(docs, (d) => d.byOfficer);
  const shown = officers.filter((o) => o.responses >= q.officerMinN);
  report.byOfficer = { minN: q.officerMinN, withheld: officers.length - shown.length, rows: shown };
  return report;
}
