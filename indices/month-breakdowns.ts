import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Breakdowns, CellLike, GroupLike } from './period-sum';

/**
 * The text a month document keeps its breakdowns in (models/rollup-month.ts `breakdowns`): a
 * compact JSON of them, deflated (raw deflate, no header) and base64-encoded behind a format tag.
 * FerretDB 1.24 pays for every byte of every document it reads, and the reader pays for every
 * byte it inflates and parses: a unit-month's breakdowns as plain JSON are ~35 kB (each cell
 * spelling its six keys), compact a fraction of that, deflated a few kB (bench/RESULTS.md,
 * "dashboard").
 *
 * The compact form: the month's distinct cells `[element, questionId]` listed once, and each
 * group as `[key, responses, dissatisfiedResponses, cells]`, its cells flat, five numbers each:
 * the cell's index in that list, then n, satisfied, dissatisfied, na.
 */
const DEFLATED = 'dr1:';

type PackedGroup = [key: string, responses: number, dissatisfiedResponses: number, cells: number[]];
interface Packed {
  cells: Array<[element: string, questionId: string]>;
  byProcedure: PackedGroup[];
  byOfficer: PackedGroup[];
  byChannel: PackedGroup[];
}
const CELL = 5;

export function packBreakdowns(b: Breakdowns): string {
  const index = new Map<string, number>();
  const cells: Packed['cells'] = [];
  const group = (g: GroupLike): PackedGroup => {
    const flat: number[] = [];
    for (const c of g.cells) {
      // JSON of the pair: no separator a code could contain.
      const k = JSON.stringify([c.element, c.questionId]);
      let i = index.get(k);
      if (i === undefined) {
        index.set(k, (i = cells.length));
        cells.push([c.element, c.questionId]);
      }
      flat.push(i, c.n, c.satisfied, c.dissatisfied, c.na);
    }
    return [g.key, g.responses, g.dissatisfiedResponses, flat];
  };
  const packed: Packed = {
    byProcedure: b.byProcedure.map(group),
    byOfficer: b.byOfficer.map(group),
    byChannel: b.byChannel.map(group),
    cells,
  };
  return DEFLATED + deflateRawSync(JSON.stringify(packed)).toString('base64');
}

/**
 * The one decoder of a month's breakdowns text, for every reader: the deflated compact form
 * written since 2026-12-04, or the plain JSON text written before (it starts with `{`; production
 * holds such documents until their month job runs again). Any other text, or a compact form that
 * does not hold together, is refused by name rather than read as figures.
 */
export function unpackBreakdowns(text: string): Breakdowns {
  if (text.startsWith('{')) return JSON.parse(text) as Breakdowns;
  if (!text.startsWith(DEFLATED))
    throw new Error(`month breakdowns in an unknown format (starting ${JSON.stringify(text.slice(0, 8))})`);
  const p = JSON.parse(
    inflateRawSync(Buffer.from(text.slice(DEFLATED.length), 'base64')).toString('utf8'),
  ) as Packed;
  if (!Array.isArray(p.cells) || ![p.byProcedure, p.byOfficer, p.byChannel].every(Array.isArray))
    throw new Error('month breakdowns malformed: no cells or groups');
  const group = ([key, responses, dissatisfiedResponses, flat]: PackedGroup): GroupLike => {
    if (!Array.isArray(flat) || flat.length % CELL !== 0)
      throw new Error(`month breakdowns malformed: the cells of group ${JSON.stringify(key)}`);
    const cells: CellLike[] = [];
    for (let j = 0; j < flat.length; j += CELL) {
      const at = p.cells[flat[j]!];
      if (!at) throw new Error(`month breakdowns malformed: cell ${flat[j]} of group ${JSON.stringify(key)}`);
      cells.push({
        element: at[0],
        questionId: at[1],
        n: flat[j + 1]!,
        satisfied: flat[j + 2]!,
        dissatisfied: flat[j + 3]!,
        na: flat[j + 4]!,
      });
    }
    return { key, responses, dissatisfiedResponses, cells };
  };
  return {
    byProcedure: p.byProcedure.map(group),
    byOfficer: p.byOfficer.map(group),
    byChannel: p.byChannel.map(group),
  };
}
