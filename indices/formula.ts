/**
 * The index formulas, pure. Bump FORMULA_VERSION whenever a number they produce can change for
 * the same raw answers; docs/indices.md documents each version. Results are "tự đánh giá"
 * (self-assessed), never the official SIPAS, which is a sampled survey by the Ministry.
 */
export const FORMULA_VERSION = 1;
export const INDEX_LABEL_VI = 'Chỉ số hài lòng tự đánh giá';
export const INDEX_LABEL_EN = 'Self-assessed satisfaction index';

/** Element codes of the default flow, in report order. */
export const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'] as const;
export type ElementCode = (typeof ELEMENTS)[number];
/** The overall index is the mean of the five SIPAS elements; TONG_THE (the overall question) is shown beside it. */
export const OVERALL_ELEMENTS: readonly string[] = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN'];

export const ELEMENT_NAMES_VI: Readonly<Record<string, string>> = {
  TIEP_CAN: 'Tiếp cận dịch vụ',
  TTHC: 'Thủ tục hành chính',
  CONG_CHUC: 'Công chức',
  KET_QUA: 'Kết quả',
  PAKN: 'Góp ý, phản ánh, kiến nghị',
  TONG_THE: 'Đánh giá chung',
};

/** Below this many completed responses a unit is not ranked ("chưa đủ dữ liệu"). */
export const RANKING_MIN_N = 30;
export const NOT_ENOUGH_DATA = 'chưa đủ dữ liệu';

/** Counts of one criterion (question) or a pool of them. `n` excludes "not applicable" (0). */
export interface Counts {
  n: number;
  satisfied: number;
  dissatisfied: number;
  na: number;
}

export const emptyCounts = (): Counts => ({ n: 0, satisfied: 0, dissatisfied: 0, na: 0 });

export function addCounts(into: Counts, c: Counts): Counts {
  into.n += c.n;
  into.satisfied += c.satisfied;
  into.dissatisfied += c.dissatisfied;
  into.na += c.na;
  return into;
}

/** Classifies one scale answer: 4-5 satisfied, 1-2 dissatisfied, 3 neutral, 0 not applicable; anything else is not a scale answer. */
export function scoreAnswer(value: unknown): Counts | null {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 5) return null;
  if (value === 0) return { n: 0, satisfied: 0, dissatisfied: 0, na: 1 };
  return { n: 1, satisfied: value >= 4 ? 1 : 0, dissatisfied: value <= 2 ? 1 : 0, na: 0 };
}

export interface Interval {
  low: number;
  high: number;
}

/** 95% Wilson score interval of k successes in n trials; null when n = 0. */
export function wilson95(k: number, n: number): Interval | null {
  if (n <= 0) return null;
  const z = 1.959963984540054;
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 and k = n the bounds are exactly 0 and 1; floating point would give 1e-17 off.
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

/** A share with its n and interval. `index` is null when there is nothing to divide. */
export interface Share {
  n: number;
  satisfied: number;
  dissatisfied: number;
  na: number;
  index: number | null;
  ci95: Interval | null;
}

/** Criterion index: satisfied / n (not-applicable answers are out of n). */
export function criterionShare(c: Counts): Share {
  return { ...c, index: c.n > 0 ? c.satisfied / c.n : null, ci95: wilson95(c.satisfied, c.n) };
}

/**
 * Mean of shares (element = mean of its criteria; overall = mean of elements). Parts without
 * data are left out of the mean. The counts are pooled, and the interval is Wilson's on the
 * pooled counts: exact when there is one criterion per element (the default flow), an
 * approximation otherwise (documented in docs/indices.md).
 */
export function meanShare(parts: readonly Share[]): Share {
  const pooled = parts.reduce((acc, p) => addCounts(acc, p), emptyCounts());
  const withData = parts.filter((p) => p.index !== null);
  const index = withData.length > 0 ? withData.reduce((s, p) => s + (p.index ?? 0), 0) / withData.length : null;
  return { ...pooled, index, ci95: wilson95(pooled.satisfied, pooled.n) };
}

/** criterion counts keyed by `${element}|${questionId}` → element shares and overall. */
export function elementShares(criteria: ReadonlyMap<string, Counts>): { elements: Record<string, Share>; overall: Share } {
  const byElement = new Map<string, Share[]>();
  for (const [key, c] of criteria) {
    const element = key.slice(0, key.indexOf('|'));
    const list = byElement.get(element) ?? [];
    list.push(criterionShare(c));
    byElement.set(element, list);
  }
  const elements: Record<string, Share> = {};
  const ordered = [...ELEMENTS, ...[...byElement.keys()].filter((e) => !(ELEMENTS as readonly string[]).includes(e)).sort()];
  for (const e of ordered) elements[e] = meanShare(byElement.get(e) ?? []);
  const overall = meanShare(OVERALL_ELEMENTS.map((e) => elements[e]!).filter((s) => s.n > 0 || s.na > 0));
  return { elements, overall };
}

export interface Ratio {
  numerator: number;
  denominator: number;
  value: number | null;
  ci95: Interval | null;
}

export function ratio(numerator: number, denominator: number): Ratio {
  return {
    numerator,
    denominator,
    value: denominator > 0 ? numerator / denominator : null,
    ci95: wilson95(Math.min(numerator, denominator), denominator),
  };
}

/**
 * Decision 766, satisfaction group, third ratio: completed dossiers without a dissatisfied
 * answer or an open complaint, over all completed dossiers of the period (dossiers, not responses).
 */
export function ratio766(completedDossiers: number, badDossiers: number): Ratio {
  return ratio(Math.max(0, completedDossiers - badDossiers), completedDossiers);
}

/** Response rate: completed responses / completed dossiers (may exceed 1 when responses arrive for dossiers finished earlier). */
export function responseRate(completedResponses: number, completedDossiers: number): Ratio {
  return { ...ratio(completedResponses, completedDossiers), ci95: completedResponses <= completedDossiers ? wilson95(completedResponses, completedDossiers) : null };
}

export interface RankInput {
  unitCode: string;
  responses: number;
  index: number | null;
}
export interface RankRow extends RankInput {
  rank: number | null;
  status: 'ranked' | typeof NOT_ENOUGH_DATA;
}

/**
 * Standard competition ranking ("1, 2, 2, 4") by index, highest first. Indices equal to 4
 * decimals (0.01 percentage point) tie. Units under `minN` responses, or without an index, are
 * not ranked and come last, marked "chưa đủ dữ liệu".
 */
export function rankUnits(rows: readonly RankInput[], minN = RANKING_MIN_N): RankRow[] {
  const key = (x: number) => Math.round(x * 10_000);
  const eligible = rows.filter((r) => r.responses >= minN && r.index !== null);
  const rest = rows.filter((r) => !(r.responses >= minN && r.index !== null));
  eligible.sort((a, b) => key(b.index!) - key(a.index!) || a.unitCode.localeCompare(b.unitCode));
  const ranked: RankRow[] = [];
  eligible.forEach((r, i) => {
    const prev = ranked[i - 1];
    const rank = prev && key(prev.index!) === key(r.index!) ? prev.rank : i + 1;
    ranked.push({ ...r, rank, status: 'ranked' });
  });
  rest.sort((a, b) => a.unitCode.localeCompare(b.unitCode));
  return [...ranked, ...rest.map((r) => ({ ...r, rank: null, status: NOT_ENOUGH_DATA }) as RankRow)];
}
