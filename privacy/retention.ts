import { Answer } from '../models/answer';
import { Contact } from '../models/contact';
import { Dossier } from '../models/dossier';
import { Session } from '../models/session';
import { appendAudit } from '../lib/audit/writer';
import { hcmDay } from '../lib/time';
import { eraseFound, type ErasureCounts } from './erase';
import { findSubject, type PrivacyDeps } from './subject';

/**
 * Retention (Law 91/2025/QH15: kept only while needed; docs/personal-data.md). After
 * RETENTION_DAYS:
 * - a contact silent that long is erased as `/xoa` erases it (contact, chat id, phone hash,
 *   sessions' link to answers, free text, live state);
 * - a dossier received that long ago loses its applicant's phone hash and its links to contacts;
 * - free text of answers completed that long ago is blanked, and sessions that old are deleted,
 *   whoever answered them.
 * Responses, ratings and rollups are never touched: every index stays exact. One audit entry per
 * run, with counts. Batched, so a first run on years of data works through it in steps.
 */
export interface RetentionReport extends ErasureCounts {
  cutoff: string;
  oldDossiers: number;
  oldFreeTexts: number;
  oldSessions: number;
}

const BATCH = 500;

export async function runRetention(
  deps: PrivacyDeps,
  days: number,
  now = new Date(),
): Promise<RetentionReport | null> {
  if (days <= 0) return null;
  const cutoff = new Date(now.getTime() - days * 86400_000);
  const total: RetentionReport = {
    cutoff: cutoff.toISOString(),
    contacts: 0,
    sessions: 0,
    freeTexts: 0,
    dossiers: 0,
    outreachJobs: 0,
    liveKeys: 0,
    oldDossiers: 0,
    oldFreeTexts: 0,
    oldSessions: 0,
  };
  const silent = {
    $or: [{ lastInteractionAt: { $lt: cutoff } }, { lastInteractionAt: null, createdAt: { $lt: cutoff } }],
  };
  for (;;) {
    const batch = await Contact.find(silent, { channel: 1, channelUserId: 1 }).limit(BATCH).lean();
    if (batch.length === 0) break;
    for (const c of batch) {
      const found = await findSubject({ channel: c.channel, userId: c.channelUserId }, deps);
      const counts = await eraseFound(found, deps, now);
      for (const k of Object.keys(counts) as Array<keyof ErasureCounts>) total[k] += counts[k];
    }
  }
  const oldDossier = { createdAt: { $lt: cutoff }, applicantPhoneHash: { $ne: null } };
  total.oldDossiers = (
    await Dossier.updateMany(oldDossier, {
      $set: { applicantPhoneHash: null, contactIds: [], 'invitation.contactId': null },
      $unset: { applicantPhoneKeyId: '', 'invitation.phoneSealed': '' },
    })
  ).modifiedCount;
  const cutoffDay = hcmDay(cutoff);
  total.oldFreeTexts = (
    await Answer.updateMany({ day: { $lt: cutoffDay }, text: { $ne: null } }, { $set: { text: null } })
  ).modifiedCount;
  total.oldSessions = (
    await Session.deleteMany({ startedAt: { $lt: cutoff }, status: { $ne: 'active' } })
  ).deletedCount;
  await appendAudit({
    actor: 'system',
    action: 'privacy.retention',
    targetType: 'retention',
    targetId: cutoffDay,
    details: { days, ...Object.fromEntries(Object.entries(total).filter(([k]) => k !== 'cutoff')) },
    at: now,
  });
  return total;
}
