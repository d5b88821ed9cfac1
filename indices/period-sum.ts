import { DateTime } from 'luxon';
import { DossierDay } from '../models/dossier-day';
import { Rollup } from '../models/rollup';
import { RollupMonth } from '../models/rollup-month';
import { addCounts, emptyCounts, type Counts } from './formula';
import { readSide } from '../lib/db/read-side';
import type { MonthCache, MonthFigures } from './month-cache';
import { unpackBreakdowns } from './month-breakdowns';

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

export interface Breakdowns {
  byProcedure: GroupLike[];
  byOfficer: GroupLike[];
  byChannel: GroupLike[];
}

/** What a period read asks for: its figures (whole-unit totals, or with breakdowns) and its dossier counts. */
export interface PeriodWant {
  figures: 'totals' | 'breakdowns' | null;
  dossiers: boolean;
  /** Month documents kept between requests (indices/month-cache.ts): the API's processes pass it. */
  cache?: MonthCache | null;
}

type MonthRead = Omit<MonthFigures, 'breakdowns'> & { breakdowns?: string | null };

/** The whole months' documents of one unit, read by `{unitCode, month}` with what `want` needs (all of it for the cache). */
async function readMonths(
  unitCode: string,
  whole: readonly string[],
  want: PeriodWant,
): Promise<MonthFigures[]> {
  const all = !!want.cache;
  if (whole.length === 0) return [];
  const docs = await readSide(
    RollupMonth.find(
      { unitCode, month: { $gte: whole[0], $lte: whole[whole.length - 1] } },
      {
        _id: 0,
        month: 1,
        version: 1,
        ...(all || want.figures ? { ...TOTALS, days: 1 } : {}),
        ...(all || want.figures === 'breakdowns' ? { breakdowns: 1 } : {}),
        ...(all || want.dossiers ? { completedDossiers: 1, badDossiers: 1 } : {}),
      },
    ),
  ).lean<MonthRead[]>();
  return docs.map((d) => ({
    ...d,
    breakdowns: typeof d.breakdowns === 'string' ? unpackBreakdowns(d.breakdowns) : null,
    completedDossiers: d.completedDossiers ?? null,
    badDossiers: d.badDossiers ?? null,
  }));
}

/** One unit's dossier days between two days of one month, by equality. */
function edgeDossierDays(
  unitCode: string,
  e: { month: string; from: string; to: string },
): Promise<DossierCounts[]> {
  return e.from === e.to
    ? readSide(DossierDay.find({ unitCode, day: e.from }, DOSSIER_COUNTS)).lean<DossierCounts[]>()
    : readSide(DossierDay.find({ unitCode, month: e.month }, { ...DOSSIER_COUNTS, day: 1 }))
        .lean<Array<DossierCounts & { day: string }>>()
        .then((ds) => ds.filter((d) => d.day >= e.from && d.day <= e.to));
}

/**
 * One unit's part of loadPeriod: its month documents read once for everything asked (FerretDB
 * 1.24 pays for the whole document whatever the projection, so a second read of the same months
 * costs as much as the first), or `kept` (current, from the cache), and the days of the months
 * at the period's edges.
 */
async function unitPeriod(
  unitCode: string,
  { whole, edges }: ReturnType<typeof monthsOf>,
  want: PeriodWant,
  /** Its whole months' documents, from the cache (kept, or a read shared); undefined without one. */
  cached: Promise<MonthFigures[]> | undefined,
): Promise<{ docs: PeriodRollup[]; dossiers: DossierCounts }> {
  const dayFields: Record<string, 0 | 1> = {
    ...TOTALS,
    month: 1,
    ...(want.figures === 'breakdowns' ? BREAKDOWNS : {}),
  };
  const figureReads: Array<Promise<PeriodRollup[]>> = want.figures
    ? edges.map((e) => edgeDays<PeriodRollup>(unitCode, e, dayFields))
    : [];
  const dossierReads: Array<Promise<DossierCounts[]>> = want.dossiers
    ? edges.map((e) => edgeDossierDays(unitCode, e))
    : [];
  if (whole.length > 0) {
    const months = await (cached ?? readMonths(unitCode, whole, want));
    const byMonth = new Map(months.map((m) => [m.month, m]));
    // The whole months whose days (or dossier days) must be read instead: one query for them all.
    const dayMonths: string[] = [];
    const dossierMonths: string[] = [];
    for (const month of whole) {
      const m = byMonth.get(month);
      if (want.figures === 'totals') {
        // Month totals follow their days by the `rollup.month` job's coalescing delay.
        if (m) figureReads.push(Promise.resolve([monthTotals(m)]));
      } else if (want.figures === 'breakdowns') {
        // A month without breakdowns (written before they were kept) or not written yet: its days.
        if (!m?.breakdowns) dayMonths.push(month);
        // A month of no days adds nothing (and no point to the trend).
        else if (m.days > 0) figureReads.push(Promise.resolve([{ ...monthTotals(m), ...m.breakdowns }]));
      }
      if (want.dossiers) {
        // A month without dossier counts (written before they were kept) or not written yet: its dossier days.
        if (m && m.completedDossiers !== null && m.badDossiers !== null)
          dossierReads.push(Promise.resolve([{ completed: m.completedDossiers, bad: m.badDossiers }]));
        else dossierMonths.push(month);
      }
    }
    if (dayMonths.length > 0)
      figureReads.push(
        readSide(Rollup.find(byMonths(unitCode, dayMonths), MONTH_DAY)).lean<PeriodRollup[]>(),
      );
    if (dossierMonths.length > 0)
      dossierReads.push(
        readSide(DossierDay.find(byMonths(unitCode, dossierMonths), DOSSIER_COUNTS)).lean<DossierCounts[]>(),
      );
  }
  const [docs, dossiers] = await Promise.all([Promise.all(figureReads), Promise.all(dossierReads)]);
  return { docs: docs.flat(), dossiers: sumDossierCounts(dossiers.flat()) };
}

/**
 * The filter of one unit's documents of some months: `{unitCode, month}` equality for one, and
 * `month: {$in}` for more (a unit with no month documents, such as a district with no one-stop
 * shop of its own, would otherwise cost two queries a month at every request). MongoDB serves
 * both from the `{unitCode, month}` index; FerretDB 1.24 pushes down the unit's equality only, so
 * there the list costs a pass over that unit's documents: a unit of no data, or one whose month
 * job has not yet run, where it is one query instead of a dozen.
 */
function byMonths(unitCode: string, months: readonly string[]): Record<string, unknown> {
  return { unitCode, month: months.length === 1 ? months[0] : { $in: months } };
}

function monthTotals(m: MonthFigures): PeriodRollup {
  return {
    unitCode: m.unitCode,
    month: m.month,
    responses: m.responses,
    dissatisfiedResponses: m.dissatisfiedResponses,
    excluded: m.excluded,
    total: m.total,
  };
}

/**
 * A period's figures and dossier counts for some units, read by equality (`{unitCode, month}` or
 * `{unitCode, day}`, which FerretDB 1.24 pushes down), one query per unit and not
 * `unitCode: {$in}` (no index use on FerretDB): each unit's month documents (models/rollup-month.ts)
 * for the months wholly inside [firstDay, lastDay], its day rollups and dossier days for the days
 * of the months at its edges; a unit-year is 12 documents. Figures with breakdowns (a report broken
 * down or filtered by procedure, officer or channel) carry their month, for the trend. Dossier
 * codes are unique and a dossier is counted under its own unit only, so the units' counts add up.
 * With `want.cache`, the units whose months are all kept and current are not read again, and a
 * read of the same unit-months under way for another request is shared (indices/month-cache.ts).
 */
export async function loadPeriod(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
  want: PeriodWant,
): Promise<{ docs: PeriodRollup[]; dossiers: DossierCounts }> {
  const months = monthsOf(firstDay, lastDay);
  const codes = [...new Set(units)];
  const cached = want.cache
    ? await want.cache.months(codes, months.whole, (u) => readMonths(u, months.whole, want))
    : null;
  const perUnit = await Promise.all(codes.map((u) => unitPeriod(u, months, want, cached?.get(u))));
  return {
    docs: perUnit.flatMap((p) => p.docs),
    dossiers: sumDossierCounts(perUnit.map((p) => p.dossiers)),
  };
}

/** The whole-unit totals of a period, for sumTotals (the ranking, digests, public pages). */
export async function loadTotals(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<PeriodTotals[]> {
  return (await loadPeriod(units, firstDay, lastDay, { figures: 'totals', dossiers: false })).docs;
}

/** The figures of a period with their breakdowns, each document with its month. */
export async function loadBreakdowns(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<PeriodRollup[]> {
  return (await loadPeriod(units, firstDay, lastDay, { figures: 'breakdowns', dossiers: false })).docs;
}

/** The dossier counts of a period (response rate, Decision 766 ratio). */
export async function loadDossierCounts(
  units: readonly string[],
  firstDay: string,
  lastDay: string,
): Promise<DossierCounts> {
  return (await loadPeriod(units, firstDay, lastDay, { figures: null, dossiers: true })).dossiers;
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
