import { Case } from '../../../models/case';
import { Unit } from '../../../models/unit';
import { appendAudit } from '../../../lib/audit/writer';
import { alertKeyboard } from './case-buttons';
import { caseAlertText, type CaseNotifier } from './notifier';

/**
 * Escalates cases still not closed after their due time to the level above the case's unit
 * (a commune's district, whose Department of Home Affairs follows up). Each case escalates once:
 * the claim is a conditional update; if the alert cannot be sent the claim is undone so the next
 * run tries again.
 */
export async function escalateOverdue(deps: {
  notifier: CaseNotifier;
  now?: Date;
  limit?: number;
}): Promise<{ escalated: string[]; undelivered: string[] }> {
  const now = deps.now ?? new Date();
  const due = await Case.find(
    { status: { $ne: 'closed' }, dueAt: { $lt: now }, escalatedAt: null },
    { log: 0 },
  )
    .sort({ dueAt: 1 })
    .limit(deps.limit ?? 500)
    .lean();
  const escalated: string[] = [];
  const undelivered: string[] = [];
  for (const c of due) {
    const unit = await Unit.findOne({ code: c.unitCode }, { parentCode: 1 }).lean();
    const target = unit?.parentCode ?? c.unitCode;
    const claim = await Case.updateOne(
      { caseId: c.caseId, escalatedAt: null },
      {
        $set: { escalatedAt: now, escalatedTo: target },
        $push: { log: { at: now, by: 'system', action: 'escalated', note: target } },
      },
    );
    if (claim.modifiedCount !== 1) continue;
    let sent = false;
    try {
      // With the case's buttons: the group of the unit above may handle it (group-actions.ts).
      sent = await deps.notifier.notify(
        target,
        caseAlertText(
          { ...c, dossierCode: c.dossierCode ?? null, procedureCode: c.procedureCode ?? null },
          'escalated',
        ),
        {
          keyboard: alertKeyboard(String(c._id), c.status === 'in_progress'),
        },
      );
    } catch (err) {
      await Case.updateOne(
        { caseId: c.caseId },
        { $set: { escalatedAt: null, escalatedTo: null }, $pull: { log: { action: 'escalated', at: now } } },
      );
      throw err;
    }
    // No chat configured above: the escalation still counts (it shows in reports), noted as undelivered.
    if (!sent) undelivered.push(c.caseId);
    await appendAudit({
      at: now,
      actor: 'system',
      action: 'case.escalated',
      targetType: 'case',
      targetId: c.caseId,
      unitCode: target,
    });
    escalated.push(c.caseId);
  }
  return { escalated, undelivered };
}
