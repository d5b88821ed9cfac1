import { AuditLog } from '../../../models/audit-log';
import { Case } from '../../../models/case';

/** Sends the citizen a short follow-up after a case closes and asks them to rate again. Implemented by the channel owners. */
export interface FollowUpSender {
  send(c: { caseId: string; responseId: string; dossierCode: string | null; unitCode: string; text: string }): Promise<boolean>;
}

export const FOLLOW_UP_TEXT_VI =
  'Cảm ơn Ông/Bà đã góp ý về hồ sơ {ma}. Chúng tôi đã xử lý phản ánh của Ông/Bà. Ông/Bà vui lòng đánh giá lại mức độ hài lòng.';

export class CaseNotFoundError extends Error {
  constructor(readonly caseId: string) {
    super(`no case ${caseId}`);
    this.name = 'CaseNotFoundError';
  }
}

async function audit(actor: string, action: string, caseId: string, unitCode: string, at: Date): Promise<void> {
  await AuditLog.create({ at, actor, action: `case.${action}`, targetType: 'case', targetId: caseId, unitCode });
}

/** Records who did what (acknowledged, a note). The note is shown to the unit, never logged. */
export async function recordAction(caseId: string, by: string, action: 'acknowledged' | 'note', note: string | null, now = new Date()): Promise<void> {
  const c = await Case.findOneAndUpdate(
    { caseId },
    { $push: { log: { at: now, by, action, note } }, ...(action === 'acknowledged' ? { $set: { status: 'in_progress' } } : {}) },
    // No projection: FerretDB 1.24 does not implement findAndModify's "fields".
  ).lean();
  if (!c) throw new CaseNotFoundError(caseId);
  await audit(by, action, caseId, c.unitCode, now);
}

/**
 * Closes a case: on time when closed by its due time (Decision 766, feedback handled on time).
 * Closing twice changes nothing. With a sender, the citizen gets a follow-up asking to rate again.
 */
export async function closeCase(
  caseId: string,
  by: string,
  note: string | null,
  opts: { now?: Date; followUp?: FollowUpSender } = {},
): Promise<{ closed: boolean; onTime: boolean | null; followUpSent: boolean }> {
  const now = opts.now ?? new Date();
  const current = await Case.findOne({ caseId }, { dueAt: 1, status: 1 }).lean();
  if (!current) throw new CaseNotFoundError(caseId);
  const onTime = now <= current.dueAt;
  const c = await Case.findOneAndUpdate(
    { caseId, status: { $ne: 'closed' } },
    { $set: { status: 'closed', closedAt: now, closedBy: by, closedOnTime: onTime }, $push: { log: { at: now, by, action: 'closed', note } } },
    { returnDocument: 'after' },
  ).lean();
  if (!c) return { closed: false, onTime: null, followUpSent: false };
  await audit(by, 'closed', caseId, c.unitCode, now);
  let followUpSent = false;
  if (opts.followUp) {
    followUpSent = await opts.followUp.send({
      caseId,
      responseId: c.responseId,
      dossierCode: c.dossierCode ?? null,
      unitCode: c.unitCode,
      text: FOLLOW_UP_TEXT_VI.replace('{ma}', c.dossierCode ?? ''),
    });
    if (followUpSent)
      await Case.updateOne({ caseId }, { $set: { followUpSentAt: now }, $push: { log: { at: now, by: 'system', action: 'follow_up_sent', note: null } } });
  }
  return { closed: true, onTime, followUpSent };
}
