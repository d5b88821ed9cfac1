import { hcm, parsePeriod } from '../../../lib/time';
import { Case } from '../../../models/case';
import { Flag } from '../../../models/flag';
import { Unit } from '../../../models/unit';
import { RANKING_MIN_N, type Share } from '../../../indices/formula';
import { loadTotals, sumTotals } from '../../../indices/period-sum';
import { caseStats, figuresOf } from '../../../indices/report';
import { expandUnits } from '../../../indices/units';

/**
 * The figures of a unit's daily digest (and of `/baocao`), taken from the same rollups and
 * formulas as the reports (indices/period-sum.ts, indices/report.ts): one day, the unit with its subtree and
 * merged predecessors. Counts and dossier codes only, never personal data.
 */
export interface DigestFigures {
  unitCode: string;
  unitName: string | null;
  /** 'YYYY-MM-DD', Asia/Ho_Chi_Minh. */
  day: string;
  /** Set for "today so far" (the time the figures were taken). */
  asOf: Date | null;
  responses: number;
  excludedResponses: number;
  flaggedResponses: number;
  overall: Share;
  elements: Record<string, Share>;
  /** Elements under this n read "chưa đủ dữ liệu" (the ranking's minimum, indices/formula.ts). */
  minN: number;
  /** Cases opened that day. */
  newCases: number;
  /** Cases still open past their due time, whenever opened; a few of their dossier codes. */
  overdueCases: number;
  overdueDossiers: string[];
}

const OVERDUE_SHOWN = 5;

export async function buildDigest(q: { unitCode: string; day: string; now: Date; today?: boolean; minN?: number }): Promise<DigestFigures> {
  const codes = await expandUnits([q.unitCode]);
  const period = parsePeriod(q.day);
  const sum = sumTotals(await loadTotals(codes, q.day, q.day));
  const figures = figuresOf(sum);
  const [unit, cases] = await Promise.all([Unit.findOne({ code: q.unitCode }, { name: 1 }).lean(), caseStats(codes, period, q.now)]);
  // One query per unit: `$in` does not use indexes on FerretDB; a unit's subtree is small.
  let flagged = 0;
  const overdue: Array<{ dossierCode?: string | null; dueAt: Date }> = [];
  for (const unitCode of codes) {
    const ids = await Flag.distinct('responseId', { unitCode, day: q.day });
    flagged += ids.length;
    overdue.push(...(await Case.find({ unitCode, status: { $ne: 'closed' }, dueAt: { $lt: q.now } }, { _id: 0, dossierCode: 1, dueAt: 1 }).lean()));
  }
  overdue.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  return {
    unitCode: q.unitCode,
    unitName: unit?.name ?? null,
    day: q.day,
    asOf: q.today ? q.now : null,
    responses: figures.responses,
    excludedResponses: sum.excluded,
    flaggedResponses: flagged,
    overall: figures.overall,
    elements: figures.elements,
    minN: q.minN ?? RANKING_MIN_N,
    newCases: cases.opened,
    overdueCases: overdue.length,
    overdueDossiers: overdue.slice(0, OVERDUE_SHOWN).map((c) => c.dossierCode ?? '(không có mã)'),
  };
}

/** The Asia/Ho_Chi_Minh day before `now`. */
export function yesterdayOf(now: Date): string {
  return hcm(now).minus({ days: 1 }).toFormat('yyyy-LL-dd');
}

/**
 * `/baocao` in a Telegram group: the digest of the unit whose alert group it is, for today so far
 * or yesterday; null when the group belongs to no unit.
 */
export async function digestForChat(chatId: string, which: 'today' | 'yesterday', now: Date): Promise<DigestFigures | null> {
  const unit = await Unit.findOne({ alertTelegramChatId: chatId }, { _id: 0, code: 1 }).lean();
  if (!unit) return null;
  const today = which === 'today';
  return buildDigest({ unitCode: unit.code, day: today ? hcm(now).toFormat('yyyy-LL-dd') : yesterdayOf(now), now, today });
}
