import { DateTime } from 'luxon';
import { isDuplicateKey } from '../../lib/mongo';
import { Dossier } from '../../models/dossier';
import { InvitationStat } from '../../models/invitation';

export type FunnelStage = 'invited' | 'opened' | 'started' | 'completed';
const FIELD: Record<FunnelStage, string> = {
  invited: 'funnel.invitedAt',
  opened: 'funnel.openedAt',
  started: 'funnel.startedAt',
  completed: 'funnel.completedAt',
};

export function dayOf(d: Date): string {
  return DateTime.fromJSDate(d, { zone: 'Asia/Ho_Chi_Minh' }).toISODate() ?? d.toISOString().slice(0, 10);
}

/**
 * Marks a dossier's stage as reached and counts it, once: the conditional update claims the
 * stage, and only its winner increments. Later stages imply earlier ones (a citizen who starts
 * from a forwarded link has "opened" too), so those are marked as well.
 * Returns true when this call counted the stage.
 */
export async function markStage(dossierCode: string, stage: FunnelStage, now: Date): Promise<boolean> {
  const order: FunnelStage[] = ['invited', 'opened', 'started', 'completed'];
  let counted = false;
  for (const s of order.slice(0, order.indexOf(stage) + 1)) {
    const field = FIELD[s];
    const d = await Dossier.findOneAndUpdate(
      { code: dossierCode, [field]: null },
      { $set: { [field]: now } },
      // No projection: FerretDB 1.24's findAndModify does not support one.
      { returnDocument: 'after', lean: true },
    );
    if (!d) continue;
    const cohort = d.survey?.issuedAt ?? now;
    await incStat({ unitCode: d.unitCode, procedureCode: d.procedureCode, day: dayOf(cohort) }, s);
    if (s === stage) counted = true;
  }
  return counted;
}

async function incStat(
  filter: { unitCode: string; procedureCode: string; day: string },
  stage: FunnelStage,
): Promise<void> {
  try {
    await InvitationStat.updateOne(filter, { $inc: { [stage]: 1 } }, { upsert: true });
  } catch (err) {
    // Two first upserts of the same row race on the unique index: the loser increments the winner's row.
    if (!isDuplicateKey(err)) throw err;
    await InvitationStat.updateOne(filter, { $inc: { [stage]: 1 } });
  }
}
