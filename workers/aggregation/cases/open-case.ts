import { retryOnDuplicate } from '../../../lib/mongo';
import { isDissatisfiedAnswer } from '../../../bot/engine/dissatisfaction';
import { hcmDay } from '../../../lib/time';
import { Case } from '../../../models/case';

/** What opening a case needs from a completed response (a subset of the response.complete payload). */
export interface CompletedResponse {
  responseId: string;
  meta: {
    dossierCode: string | null;
    unitCode: string | null;
    procedureCode: string | null;
    officerId: string | null;
  };
  answers: Array<{ questionId: string; element: string | null; value: unknown }>;
  completedAt: string;
}

export interface CaseItem {
  element: string;
  questionId: string;
  value: number;
  reasons: string[];
}

/**
 * Pure: the dissatisfied items of a response. A 1 or 2 on any element question (TONG_THE, the
 * overall question, included) is one item; the reason options chosen for that element (a
 * multi-choice answer under the same element) go with it. Free text is never copied.
 */
export function dissatisfiedItems(answers: CompletedResponse['answers']): CaseItem[] {
  const reasons = new Map<string, string[]>();
  for (const a of answers) {
    if (a.element && Array.isArray(a.value))
      reasons.set(a.element, [
        ...(reasons.get(a.element) ?? []),
        ...a.value.filter((v): v is string => typeof v === 'string'),
      ]);
  }
  return answers.filter(isDissatisfiedAnswer).map((a) => ({
    element: a.element,
    questionId: a.questionId,
    value: a.value,
    reasons: reasons.get(a.element) ?? [],
  }));
}

export const caseIdOf = (responseId: string): string => `case-${responseId}`;

/**
 * Opens the case of a dissatisfied response, once: keyed by response, so a rerun of the job
 * finds it and changes nothing. Returns the case id, or null when the response is not dissatisfied
 * or has no unit.
 */
export async function openCase(
  p: CompletedResponse,
  opts: { slaHours: number; now?: Date },
): Promise<{ caseId: string; created: boolean } | null> {
  const items = dissatisfiedItems(p.answers);
  if (items.length === 0 || !p.meta.unitCode) return null;
  const openedAt = new Date(p.completedAt);
  const caseId = caseIdOf(p.responseId);
  const now = opts.now ?? new Date();
  // Racing duplicate deliveries may both try the insert; the loser's retry finds the case.
  // timestamps off: on an existing case this update must change nothing (FerretDB rewrites a
  // document whenever an update modifies it, which could race with the alert's log entry).
  const r = await retryOnDuplicate(() =>
    Case.updateOne(
      { caseId },
      {
        $setOnInsert: {
          caseId,
          responseId: p.responseId,
          dossierCode: p.meta.dossierCode,
          unitCode: p.meta.unitCode,
          procedureCode: p.meta.procedureCode,
          officerId: p.meta.officerId,
          items,
          status: 'open',
          openedAt,
          dueAt: new Date(openedAt.getTime() + opts.slaHours * 3600_000),
          day: hcmDay(openedAt),
          log: [{ at: now, by: 'system', action: 'opened', note: null }],
          createdAt: now,
          updatedAt: now,
        },
      },
      { upsert: true, timestamps: false },
    ),
  );
  return { caseId, created: r.upsertedCount === 1 };
}
