import { parsePeriod } from '../lib/time';
import { rankUnits, RANKING_MIN_N, type RankRow } from './formula';
import type { MonthCache } from './month-cache';
import { loadPeriod, sumTotals } from './period-sum';
import { figuresOf } from './report';
import { rankableChildren, scopedUnits, UnitLinks } from './units';

export interface RankingRow extends RankRow {
  name: string;
  ci95: { low: number; high: number } | null;
}

/**
 * Ranks the units directly under `parent` that existed on the period's last day; each unit's
 * figures include its subtree and the units merged into it.
 */
export async function buildRanking(q: {
  parent: string;
  period: string;
  units: readonly string[] | null;
  minN?: number;
  /** Month documents kept between requests (indices/month-cache.ts; the API's processes). */
  cache?: MonthCache | null;
}): Promise<{ parent: string; period: string; minN: number; rows: RankingRow[] }> {
  const p = parsePeriod(q.period);
  // One read of the tree for the scope check and every child's subtree; nothing of the children
  // is used before the check.
  const [links, rankable] = await Promise.all([UnitLinks.read(), rankableChildren(q.parent, p.lastDay)]);
  await scopedUnits(q.parent, q.units, links);
  const children = rankable.filter((c) => !q.units || q.units.includes(c.code));
  const minN = q.minN ?? RANKING_MIN_N;
  const figures = await Promise.all(
    children.map(async (c) => {
      const codes = links.expand([c.code]);
      const { docs } = await loadPeriod(codes, p.firstDay, p.lastDay, {
        figures: 'totals',
        dossiers: false,
        cache: q.cache ?? null,
      });
      const f = figuresOf(sumTotals(docs));
      return { code: c.code, name: c.name, f };
    }),
  );
  const rows = rankUnits(
    figures.map((x) => ({ unitCode: x.code, responses: x.f.responses, index: x.f.overall.index })),
    minN,
  );
  const byCode = new Map(figures.map((x) => [x.code, x]));
  return {
    parent: q.parent,
    period: p.key,
    minN,
    rows: rows.map((r) => ({
      ...r,
      name: byCode.get(r.unitCode)!.name,
      ci95: byCode.get(r.unitCode)!.f.overall.ci95,
    })),
  };
}
