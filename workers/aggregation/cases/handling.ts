import { appendAudit } from '../../../lib/audit/writer';
import { Case } from '../../../models/case';
import { resolutionOf, RESOLUTIONS } from '../../../lib/case-resolutions';
import { scheduleDossierOf } from '../rollups/dossiers';
import type { ScheduleDeps } from '../rollups/schedule';

/**
 * What officials do with a case: acknowledge it, add notes, close it. Each action is one
 * conditional update with its log entry (who: an official's id, `tg:<Telegram user id>` or the
 * CLI's `--by`; when), and an audit record. Notes may name people: they are stored for the unit,
 * never logged. The citizen's follow-up is separate (follow-up.ts).
 */
export const MAX_NOTE_CHARS = 1000;

export class CaseNotFoundError extends Error {
  constructor(readonly caseId: string) {
    super(`no case ${caseId}`);
    this.name = 'CaseNotFoundError';
  }
}

/** Bad input from an official (empty or too long note, unknown resolution): nothing changed. */
export class CaseInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaseInputError';
  }
}

/** A common resolution (resolutions.ts) or a free reason. */
export type CloseReason = { resolution: string } | { note: string };

/** `--reason` as typed: a resolution code, else a free reason. */
export function parseCloseReason(text: string): CloseReason {
  const t = text.trim();
  return resolutionOf(t) ? { resolution: t } : { note: checkedNote(t) };
}

export function checkedNote(text: string): string {
  const t = text.trim();
  if (t.length === 0) throw new CaseInputError('the note is empty');
  if (t.length > MAX_NOTE_CHARS)
    throw new CaseInputError(`the note is longer than ${MAX_NOTE_CHARS} characters`);
  return t;
}

async function audit(
  actor: string,
  action: string,
  caseId: string,
  unitCode: string,
  at: Date,
): Promise<void> {
  await appendAudit({
    at,
    actor,
    action: `case.${action}`,
    targetType: 'case',
    targetId: caseId,
    unitCode,
  });
}

/** The unit took the case on (open → in progress). Once: a second acknowledgement changes nothing. */
export async function acknowledgeCase(
  caseId: string,
  by: string,
  now = new Date(),
): Promise<'acknowledged' | 'already' | 'closed'> {
  const c = await Case.findOneAndUpdate(
    { caseId, status: 'open' },
    { $set: { status: 'in_progress' }, $push: { log: { at: now, by, action: 'acknowledged', note: null } } },
    // No projection: FerretDB 1.24 does not implement findAndModify's "fields".
  ).lean();
  if (c) {
    await audit(by, 'acknowledged', caseId, c.unitCode, now);
    return 'acknowledged';
  }
  const current = await Case.findOne({ caseId }, { _id: 0, status: 1 }).lean();
  if (!current) throw new CaseNotFoundError(caseId);
  return current.status === 'closed' ? 'closed' : 'already';
}

/** Gives the case to an official of the unit (a username); the log keeps who gave it to whom. */
export async function assignCase(
  caseId: string,
  by: string,
  assignee: string,
  now = new Date(),
): Promise<void> {
  const c = await Case.findOneAndUpdate(
    { caseId },
    {
      $set: { assignedTo: assignee },
      $push: { log: { at: now, by, action: 'assigned', note: null, detail: assignee } },
    },
  ).lean();
  if (!c) throw new CaseNotFoundError(caseId);
  await audit(by, 'assigned', caseId, c.unitCode, now);
}

/** A note on the case, shown to the unit. Allowed on a closed case too (what happened after). */
export async function addCaseNote(caseId: string, by: string, text: string, now = new Date()): Promise<void> {
  const note = checkedNote(text);
  const c = await Case.findOneAndUpdate(
    { caseId },
    { $push: { log: { at: now, by, action: 'note', note } } },
  ).lean();
  if (!c) throw new CaseNotFoundError(caseId);
  await audit(by, 'note', caseId, c.unitCode, now);
}

/**
 * Closes a case: on time when closed by its due time (Decision 766, feedback handled on time;
 * the report's `cases.onTime`). Closing twice changes nothing (`closed: false`). `followUp`: the
 * citizen is to get the closing message; the flag is set with the close, in one update, so a
 * caller that dies before queueing it leaves it for the sweep (case-jobs.ts). `rollups`: where
 * the dossier's counts are asked for again (a case closed on time no longer counts against it).
 */
export async function closeCase(
  caseId: string,
  by: string,
  reason: CloseReason,
  opts: { followUp: boolean; now?: Date; rollups: ScheduleDeps },
): Promise<{ closed: boolean; onTime: boolean | null; followUpPending: boolean }> {
  const now = opts.now ?? new Date();
  const resolution = 'resolution' in reason ? resolutionOf(reason.resolution) : null;
  if ('resolution' in reason && !resolution)
    throw new CaseInputError(
      `unknown resolution "${reason.resolution}" (expected ${RESOLUTIONS.map((r) => r.code).join(', ')} or a free reason)`,
    );
  const note = resolution ? resolution.label.vi : checkedNote((reason as { note: string }).note);
  const current = await Case.findOne({ caseId }, { _id: 0, dueAt: 1, status: 1, followUpPending: 1 }).lean();
  if (!current) throw new CaseNotFoundError(caseId);
  if (current.status === 'closed')
    return { closed: false, onTime: null, followUpPending: current.followUpPending === true };
  const onTime = now <= current.dueAt;
  const c = await Case.findOneAndUpdate(
    { caseId, status: { $ne: 'closed' } },
    {
      $set: {
        status: 'closed',
        closedAt: now,
        closedBy: by,
        closedOnTime: onTime,
        resolution: resolution?.code ?? null,
        followUpPending: opts.followUp,
      },
      $push: { log: { at: now, by, action: 'closed', note, detail: resolution?.code ?? null } },
    },
  ).lean();
  if (!c) return { closed: false, onTime: null, followUpPending: false };
  await audit(by, 'closed', caseId, c.unitCode, now);
  await scheduleDossierOf(opts.rollups, c.dossierCode);
  return { closed: true, onTime, followUpPending: opts.followUp };
}
