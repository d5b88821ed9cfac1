import { parsePeriod } from '../lib/time';
import { Case } from '../models/case';
import { scopedUnits } from './units';

export interface CaseRow {
  caseId: string;
  /** The response the case came from (its flow version gives the labels of scores and reasons). */
  responseId: string;
  dossierCode: string | null;
  unitCode: string;
  procedureCode: string | null;
  elements: string[];
  items: Array<{ element: string; questionId: string; value: number; reasons: string[] }>;
  status: string;
  openedAt: Date;
  dueAt: Date;
  escalatedTo: string | null;
  closedAt: Date | null;
  closedOnTime: boolean | null;
}

/** Cases opened in a period under a unit (its subtree and predecessors), oldest first. */
export async function listCases(q: { unit: string; period: string; units: readonly string[] | null; status?: string; limit?: number }): Promise<CaseRow[]> {
  const p = parsePeriod(q.period);
  const codes = await scopedUnits(q.unit, q.units);
  const filter: Record<string, unknown> = { unitCode: { $in: codes }, day: { $gte: p.firstDay, $lte: p.lastDay } };
  if (q.status) filter.status = q.status;
  const docs = await Case.find(filter, { _id: 0, log: 0 })
    .sort({ openedAt: 1 })
    .limit(q.limit ?? 10_000)
    .lean();
  return docs.map((c) => ({
    caseId: c.caseId,
    responseId: c.responseId,
    dossierCode: c.dossierCode ?? null,
    unitCode: c.unitCode,
    procedureCode: c.procedureCode ?? null,
    elements: [...new Set(c.items.map((i) => i.element))],
    items: c.items.map((i) => ({ element: i.element, questionId: i.questionId, value: i.value, reasons: [...i.reasons] })),
    status: c.status,
    openedAt: c.openedAt,
    dueAt: c.dueAt,
    escalatedTo: c.escalatedTo ?? null,
    closedAt: c.closedAt ?? null,
    closedOnTime: c.closedOnTime ?? null,
  }));
}
