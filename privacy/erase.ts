import type { RedisClient } from '../lib/redis';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Types } from 'mongoose';
import { LiveStore } from '../bot/conversation/live-store';
import { Answer } from '../models/answer';
import { Contact } from '../models/contact';
import { Dossier } from '../models/dossier';
import { Session } from '../models/session';
import { sharedContactKey } from '../workers/aggregation/integrity/shared-contact';
import { recordOptOut } from '../workers/broadcast/opt-outs';
import { contactChangesKey } from '../workers/jobs/contact-changes';
import { invitationJobId, OUTREACH_QUEUE, reminderJobIds } from '../workers/jobs/outreach-ids';
import { PhoneInviteClaims } from '../workers/jobs/invitation-phone-claim';
import { appendAudit } from '../lib/audit/writer';
import { markErased } from './erased-mark';
import { findSubject, type FoundSubject, type PrivacyDeps, type Subject } from './subject';

/** What an erasure removed, in counts (the CLI prints them; the audit entry keeps them). */
export interface ErasureReport {
  erasureId: string;
  contacts: number;
  sessions: number;
  /** Free-text answers (an "other" reason, a suggestion) blanked; their ratings stay. */
  freeTexts: number;
  /** Dossiers whose phone hash, sealed phone or link to a contact was removed. */
  dossiers: number;
  /** Pending invitations and reminders to the person, removed from the outreach queue. */
  outreachJobs: number;
  /** Keys of the live state (conversation, pending contact changes, claims) deleted. */
  liveKeys: number;
}

/** How many reminders per dossier may be queued at most (REMINDER_MAX and its delays are below it). */
const MAX_REMINDERS = 10;
/**
 * Erases a data subject (Law 91/2025/QH15, the right to erasure and the withdrawal of consent):
 * the contact records, the sessions that link them to responses, the free text of their answers,
 * the phone hashes and sealed numbers on their dossiers, the live conversation state, pending
 * contact changes, and the invitations and reminders still queued for them. Responses and their
 * ratings stay, unlinked: the indices do not change. Messages stop first (the opt-out log that
 * running broadcasts read), before anything is deleted. Idempotent: a second run finds nothing.
 * The audit entry holds the erasure id and counts, never the phone hash or a chat id.
 */
export async function eraseSubject(
  subject: Subject,
  deps: PrivacyDeps & { actor: string; now?: Date },
): Promise<ErasureReport> {
  const now = deps.now ?? new Date();
  const found = await findSubject(subject, deps);
  const counts = await eraseFound(found, deps, now);
  const report: ErasureReport = { erasureId: randomUUID(), ...counts };
  await appendAudit({
    actor: deps.actor,
    action: 'privacy.erased',
    targetType: 'subject',
    targetId: report.erasureId,
    details: {
      by: 'phone' in subject ? 'phone' : subject.channel,
      contactIds: found.contacts.map((c) => c.id),
      ...counts,
    },
    at: now,
  });
  return report;
}

export type ErasureCounts = Omit<ErasureReport, 'erasureId'>;

/** Erases what `findSubject` found (the retention job's path too); no audit entry. */
export async function eraseFound(found: FoundSubject, deps: PrivacyDeps, now: Date): Promise<ErasureCounts> {
  const contactIds = found.contacts.map((c) => new Types.ObjectId(c.id));
  const { redis, prefix } = deps;

  for (const c of found.contacts) {
    await markErased(redis, prefix, c.id);
    await recordOptOut(redis, prefix, c.id, now);
  }
  const outreachJobs = await removeOutreach(redis, prefix, found.dossierCodes);

  const sessionIds = found.sessions.map((s) => new Types.ObjectId(s.id));
  const responseIds = found.sessions.map((s) => s.responseId);
  const freeTexts =
    responseIds.length === 0
      ? 0
      : (
          await Answer.updateMany(
            { responseId: { $in: responseIds }, text: { $ne: null } },
            { $set: { text: null } },
          )
        ).modifiedCount;
  // A typed-text question keeps its answer in `value`: it is free text too, and no index reads it.
  if (responseIds.length > 0)
    await Answer.updateMany({ responseId: { $in: responseIds }, type: 'text' }, { $set: { value: null } });
  const sessions =
    sessionIds.length === 0 ? 0 : (await Session.deleteMany({ _id: { $in: sessionIds } })).deletedCount;
  const dossiers = await unlinkDossiers(found.phoneHashes, contactIds);
  const contacts =
    contactIds.length === 0 ? 0 : (await Contact.deleteMany({ _id: { $in: contactIds } })).deletedCount;

  let liveKeys = 0;
  const hot = new LiveStore(redis, prefix);
  const claims = new PhoneInviteClaims(redis, prefix);
  for (const c of found.contacts) {
    const own = found.sessions.map((s) => s.id);
    liveKeys += await hot.forget(c.channel, c.userId, own);
    liveKeys += await redis.del(
      contactChangesKey(prefix, c.id),
      sharedContactKey(prefix, deps.phoneHashKey, c.channel, c.id),
    );
  }
  for (const h of found.phoneHashes) liveKeys += await claims.forget(h);

  return { contacts, sessions, freeTexts, dossiers, outreachJobs, liveKeys };
}

async function unlinkDossiers(phoneHashes: string[], contactIds: Types.ObjectId[]): Promise<number> {
  const touched = new Set<string>();
  const mark = async (filter: Record<string, unknown>) => {
    for (const d of await Dossier.find(filter, { code: 1 }).lean()) touched.add(d.code);
  };
  if (phoneHashes.length > 0) {
    const filter = { applicantPhoneHash: { $in: phoneHashes } };
    await mark(filter);
    await Dossier.updateMany(filter, {
      $set: { applicantPhoneHash: null },
      $unset: { applicantPhoneKeyId: '', 'invitation.phoneSealed': '' },
    });
  }
  if (contactIds.length > 0) {
    const linked = { contactIds: { $in: contactIds } };
    await mark(linked);
    await Dossier.updateMany(linked, { $pullAll: { contactIds } });
    const invited = { 'invitation.contactId': { $in: contactIds } };
    await mark(invited);
    await Dossier.updateMany(invited, { $set: { 'invitation.contactId': null, 'invitation.channel': null } });
  }
  return touched.size;
}

/** Removes queued invitations and reminders of these dossiers; one already running finds no contact. */
async function removeOutreach(redis: RedisClient, prefix: string, dossierCodes: string[]): Promise<number> {
  if (dossierCodes.length === 0) return 0;
  const queue = new Queue(OUTREACH_QUEUE, { connection: redis, prefix });
  let removed = 0;
  try {
    for (const code of dossierCodes) {
      const ids = [invitationJobId(code)];
      for (let n = 1; n <= MAX_REMINDERS; n++) ids.push(...reminderJobIds(code, n));
      for (const id of ids) {
        const job = await queue.getJob(id);
        if (!job || !((await job.isDelayed()) || (await job.isWaiting()))) continue;
        // A job a worker holds right now cannot be removed; it finds the contact gone.
        removed += (await queue.remove(id)) === 1 ? 1 : 0;
      }
    }
  } finally {
    await queue.close();
  }
  return removed;
}
