import { Rollup } from '../../models/rollup';
import { addCounts, emptyCounts, type Counts } from './formula';

/** Month, quarter and year figures are sums of day rollups, done here in code (no date operators in pipelines). */
export interface DayRollup {
  unitCode: string;
  day: string;
  responses: number;
  dissatisfiedResponses: number;
  excluded: number;
  total: CellLike[];
  byProcedure?: GroupLike[];
  byOfficer?: GroupLike[];
  byChannel?: GroupLike[];
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

export async function loadRollups(units: readonly string[], firstDay: string, lastDay: string, breakdowns: boolean): Promise<DayRollup[]> {
  const projection = breakdowns ? { ...CORE, byProcedure: 1, byOfficer: 1, byChannel: 1 } : CORE;
  // One query per unit by equality, not `unitCode: {$in}`: FerretDB 1.24 uses no index for $in
  // (a scan of every rollup); MongoDB answers both from the {unitCode, day} index.
  const perUnit = await Promise.all(
    [...new Set(units)].map((unitCode) => Rollup.find({ unitCode, day: { $gte: firstDay, $lte: lastDay } }, { _id: 0, ...projection }).lean<DayRollup[]>()),
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

/** Sums the whole-unit counts of day rollups. */
export function sumTotals(docs: readonly DayRollup[]): Summed & { excluded: number } {
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
export function sumGroups(docs: readonly DayRollup[], pick: (d: DayRollup) => GroupLike[] | undefined): Map<string, Summed> {
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
