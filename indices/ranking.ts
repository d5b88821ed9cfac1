import { parsePeriod } from '../lib/time';
import { rankUnits, RANKING_MIN_N, type RankRow } from './formula';
import { loadTotals, sumTotals } from './period-sum';
import { figuresOf } from './report';
import { expandUnits, rankableChildren, scopedUnits } from './units';

export interface RankingRow extends RankRow {
  name: string;
  ci95: { low: number; high: number } | null;
}

/**
 * Ranks the units directly under `parent` that existed on the period's last day; each unit's
 * figures include its subtree and the units merged into it.
 */
export async function buildRanking(q: { parent: string; period: string; units: readonly string[] | null; minN?: number }): Promise<{ parent: string; period: string; minN: number; rows: RankingRow[] }> {
  const p = parsePeriod(q.period);
  await scopedUnits(q.parent, q.units);
  const children = (await rankableChildren(q.parent, p.lastDay)).filter((c) => !q.units || q.units.includes(c.code));
  const minN = q.minN ?? RANKING_MIN_N;
  const figures = await Promise.all(
    children.map(async (c) => {
      const codes = await expandUnits([c.code]);
      const f = figuresOf(sumTotals(await loadTotals(codes, p.firstDay, p.lastDay)));
      return { code: c.code, name: c.name, f };
    }),
  );
  const rows = rankUnits(figures.map((x) => ({ unitCode: x.code, responses: x.f.responses, index: x.f.overall.index })), minN);
  const byCode = new Map(figures.map((x) => [x.code, x]));
  return {
    parent: q.parent,
    period: p.key,
    minN,
    rows: rows.map((r) => ({ ...r, name: byCode.get(r.unitCode)!.name, ci95: byCode.get(r.unitCode)!.f.overall.ci95 })),
  };
}
