import { DateTime } from 'luxon';
import { DossierDay } from '../models/dossier-day';
import { Rollup } from '../models/rollup';
import { RollupMonth } from '../models/rollup-month';
import { addCounts, emptyCounts, type Counts } from './formula';
import { readSide } from '../lib/db/read-side';

/** What a period's whole-unit figures are summed from: day rollups or month totals. */
export interface PeriodTotals {
  unitCode: string;
  responses: number;
  dissatisfiedResponses: number;
  excluded: number;
  total: CellLike[];
}

/** Month, quarter and year figures are sums of day rollups, done here in code (no date operators in pipelines). */
export interface PeriodRollup extends PeriodTotals {
  /** `YYYY-MM`: the month of a day rollup, or of a month's figures. */
  month: string;
  byProcedure?: GroupLike[];
  byOfficer?: GroupLike[];
  byChannel?: GroupLike[];
}
export interface DayRollup extends PeriodRollup {
  day: string;
}
export interface CellLike extends Counts {
  element: string;
  questionId: string;
}
export interface GroupLike {
  key: string;
  responses: number;
  dissatisfiedResponses: number;
  cells: CellLike[];
}

const CORE = { unitCode: 1, day: 1, responses: 1, dissatisfiedResponses: 1, excluded: 1, total: 1 } as const;
const BREAKDOWNS = { byProcedure: 1, byOfficer: 1, byChannel: 1 } as const;

/** The day rollups of a period with their breakdowns (the public page of one month). */
export async function loadRollups(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<DayRollup[]> {
  const projection = { ...CORE, month: 1, ...BREAKDOWNS };
  // One query per unit by equality, not `unitCode: {$in}`: FerretDB 1.24 uses no index for $in
  // (a scan of every rollup); MongoDB answers both from the {unitCode, day} index.
  const perUnit = await Promise.all(
    [...new Set(units)].map((unitCode) =>
      readSide(
        Rollup.find({ unitCode, day: { $gte: firstDay, $lte: lastDay } }, { _id: 0, ...projection }),
      ).lean<DayRollup[]>(),
    ),
  );
  return perUnit.flat();
}

const TOTALS = {
  _id: 0,
  unitCode: 1,
  responses: 1,
  dissatisfiedResponses: 1,
  excluded: 1,
  total: 1,
} as const;

const MONTH_DAY = { ...TOTALS, month: 1, day: 1, ...BREAKDOWNS } as const;

/**
 * One unit-month's day rollups with their breakdowns, read by `{unitCode, month}` equality, for
 * the month writer (workers/aggregation/rollups/month.ts): on the primary, never the read side.
 */
export function loadMonthDays(unitCode: string, month: string): Promise<DayRollup[]> {
  return Rollup.find({ unitCode, month }, MONTH_DAY).lean<DayRollup[]>();
}

/** The months of [firstDay, lastDay]: those wholly inside, and the days of those at its edges. */
function monthsOf(
  firstDay: string,
  lastDay: string,
): { whole: string[]; edges: Array<{ month: string; from: string; to: string }> } {
  const whole: string[] = [];
  const edges: Array<{ month: string; from: string; to: string }> = [];
  for (
    let m = DateTime.fromISO(firstDay, { zone: 'utc' }).startOf('month');
    m.toISODate()! <= lastDay;
    m = m.plus({ months: 1 })
  ) {
    const first = m.toISODate()!;
    const last = m.endOf('month').toISODate()!;
    if (first >= firstDay && last <= lastDay) whole.push(m.toFormat('yyyy-MM'));
    else
      edges.push({
        month: m.toFormat('yyyy-MM'),
        from: first < firstDay ? firstDay : first,
        to: last > lastDay ? lastDay : last,
      });
  }
  return { whole, edges };
}

/** The day rollups of one unit between two days of one month, by equality. */
function edgeDays<T extends PeriodTotals>(
  unitCode: string,
  e: { month: string; from: string; to: string },
  projection: Record<string, 0 | 1>,
): Promise<T[]> {
  return e.from === e.to
    ? readSide(Rollup.find({ unitCode, day: e.from }, projection)).lean<T[]>()
    : readSide(Rollup.find({ unitCode, month: e.month }, { ...projection, day: 1 }))
        .lean<Array<T & { day: string }>>()
        .then((days) => days.filter((d) => d.day >= e.from && d.day <= e.to));
}

/**
 * The whole-unit totals of a period, for sumTotals: month totals (models/rollup-month.ts) for the
 * months wholly inside [firstDay, lastDay], day rollups for the days of the months at its edges.
 * Every read is by equality (`{unitCode, month}` or `{unitCode, day}`), which FerretDB 1.24 pushes
 * down; a unit-year is 12 small documents. Month totals follow their days by the `rollup.month`
 * job's coalescing delay.
 */
export async function loadTotals(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<PeriodTotals[]> {
  const { whole, edges } = monthsOf(firstDay, lastDay);
  const reads: Array<Promise<PeriodTotals[]>> = [];
  for (const unitCode of new Set(units)) {
    if (whole.length > 0) {
      reads.push(
        readSide(
          RollupMonth.find({ unitCode, month: { $gte: whole[0], $lte: whole[whole.length - 1] } }, TOTALS),
        ).lean<PeriodTotals[]>(),
      );
    }
    for (const e of edges) reads.push(edgeDays<PeriodTotals>(unitCode, e, TOTALS));
  }
  return (await Promise.all(reads)).flat();
}

/** Dossiers finished or returned, and those of them with dissatisfaction or a case open or closed late. */
export interface DossierCounts {
  completed: number;
  bad: number;
}

const DOSSIER_COUNTS = { _id: 0, completed: 1, bad: 1 } as const;

/** One unit-month's dossier days (models/dossier-day.ts), for the month writer: on the primary. */
export function loadMonthDossierDays(unitCode: string, month: string): Promise<DossierCounts[]> {
  return DossierDay.find({ unitCode, month }, DOSSIER_COUNTS).lean<DossierCounts[]>();
}

export function sumDossierCounts(docs: readonly DossierCounts[]): DossierCounts {
  const s = { completed: 0, bad: 0 };
  for (const d of docs) {
    s.completed += d.completed;
    s.bad += d.bad;
  }
  return s;
}

/**
 * The dossier counts of a period (response rate, Decision 766 ratio): the month figures' sums
 * for the months wholly inside [firstDay, lastDay], the dossier days of the months at its edges,
 * read by equality as in loadTotals. A whole month whose figures have no dossier counts (written
 * before they were kept) or are not written yet is read from its dossier days. Dossier codes are
 * unique and a dossier is counted under its own unit only, so the units' counts add up.
 */
export async function loadDossierCounts(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<DossierCounts> {
  const { whole, edges } = monthsOf(firstDay, lastDay);
  const days = (unitCode: string, month: string) =>
    readSide(DossierDay.find({ unitCode, month }, { ...DOSSIER_COUNTS, day: 1 })).lean<
      Array<DossierCounts & { day: string }>
    >();
  const perUnit = await Promise.all(
    [...new Set(units)].map(async (unitCode) => {
      const reads: Array<Promise<DossierCounts[]>> = edges.map((e) =>
        e.from === e.to
          ? readSide(DossierDay.find({ unitCode, day: e.from }, DOSSIER_COUNTS)).lean<DossierCounts[]>()
          : days(unitCode, e.month).then((ds) => ds.filter((d) => d.day >= e.from && d.day <= e.to)),
      );
      if (whole.length > 0) {
        const months = await readSide(
          RollupMonth.find(
            { unitCode, month: { $gte: whole[0], $lte: whole[whole.length - 1] } },
            { _id: 0, month: 1, completedDossiers: 1, badDossiers: 1 },
          ),
        ).lean<Array<{ month: string; completedDossiers?: number | null; badDossiers?: number | null }>>();
        const counted = new Map(
          months
            .filter((m) => typeof m.completedDossiers === 'number' && typeof m.badDossiers === 'number')
            .map((m) => [m.month, { completed: m.completedDossiers!, bad: m.badDossiers! }]),
        );
        for (const month of whole) {
          const m = counted.get(month);
          reads.push(m ? Promise.resolve([m]) : days(unitCode, month));
        }
      }
      return sumDossierCounts((await Promise.all(reads)).flat());
    }),
  );
  return sumDossierCounts(perUnit);
}

export interface Breakdowns {
  byProcedure: GroupLike[];
  byOfficer: GroupLike[];
  byChannel: GroupLike[];
}

/** A month's breakdowns as the text models/rollup-month.ts keeps (one field: why is there). */
export function packBreakdowns(b: Breakdowns): string {
  return JSON.stringify(b);
}

function unpackBreakdowns(text: string): Breakdowns {
  return JSON.parse(text) as Breakdowns;
}

/**
 * The figures of a period with their breakdowns (a report broken down or filtered by procedure,
 * officer or channel): a month's figures for each month wholly inside [firstDay, lastDay], day
 * rollups for the days at its edges, read by equality as in loadTotals. A whole month whose
 * figures have no breakdowns (written before they were kept) or are not written yet is read
 * from its days. Each document carries its month, for the trend.
 */
export async function loadBreakdowns(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<PeriodRollup[]> {
  const { whole, edges } = monthsOf(firstDay, lastDay);
  const dayFields = { ...TOTALS, month: 1, ...BREAKDOWNS } as const;
  const perUnit = await Promise.all(
    [...new Set(units)].map(async (unitCode) => {
      const reads: Array<Promise<PeriodRollup[]>> = edges.map((e) =>
        edgeDays<PeriodRollup>(unitCode, e, dayFields),
      );
      if (whole.length > 0) {
        const months = await readSide(
          RollupMonth.find(
            { unitCode, month: { $gte: whole[0], $lte: whole[whole.length - 1] } },
            { ...TOTALS, month: 1, days: 1, breakdowns: 1 },
          ),
        ).lean<Array<PeriodTotals & { month: string; days: number; breakdowns: string | null }>>();
        const summed = new Map(months.filter((m) => m.breakdowns !== null).map((m) => [m.month, m]));
        for (const month of whole) {
          const m = summed.get(month);
          if (!m) reads.push(readSide(Rollup.find({ unitCode, month }, MONTH_DAY)).lean<PeriodRollup[]>());
          // A month of no days adds nothing (and no point to the trend).
          else if (m.days > 0) {
            const { breakdowns, ...totals } = m;
            reads.push(Promise.resolve([{ ...totals, ...unpackBreakdowns(breakdowns!) }]));
          }
        }
      }
      return (await Promise.all(reads)).flat();
    }),
  );
  return perUnit.flat();
}

export interface Summed {
  responses: number;
  dissatisfiedResponses: number;
  cells: Map<string, Counts>;
}

export const emptySum = (): Summed => ({ responses: 0, dissatisfiedResponses: 0, cells: new Map() });

export function addCells(into: Summed, cells: readonly CellLike[]): void {
  for (const c of cells) {
    const k = `${c.element}|${c.questionId}`;
    let cur = into.cells.get(k);
    if (!cur) into.cells.set(k, (cur = emptyCounts()));
    addCounts(cur, c);
  }
}

/** Sums the whole-unit counts of day rollups or month totals. */
export function sumTotals(docs: readonly PeriodTotals[]): Summed & { excluded: number } {
  const s = { ...emptySum(), excluded: 0 };
  for (const d of docs) {
    s.responses += d.responses;
    s.dissatisfiedResponses += d.dissatisfiedResponses;
    s.excluded += d.excluded;
    addCells(s, d.total);
  }
  return s;
}

/** Sums one breakdown (procedure, officer or channel) into a map by key. */
export function sumGroups<D extends PeriodTotals>(
  docs: readonly D[],
  pick: (d: D) => GroupLike[] | undefined,
): Map<string, Summed> {
  const out = new Map<string, Summed>();
  for (const d of docs) {
    for (const g of pick(d) ?? []) {
      let s = out.get(g.key);
      if (!s) out.set(g.key, (s = emptySum()));
      s.responses += g.responses;
      s.dissatisfiedResponses += g.dissatisfiedResponses;
      addCells(s, g.cells);
    }
  }
  return out;
}
