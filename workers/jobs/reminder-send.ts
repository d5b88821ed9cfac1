import { z } from 'zod';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import {
  loadDossier,
  messageFor,
  surveyClosed,
  type OutreachChannel,
  type OutreachDeps,
} from './invitation-send';

export const reminderSendSchema = z.object({
  dossierCode: z.string().min(1).max(64),
  n: z.number().int().min(1).max(20),
});
export type ReminderSendPayload = z.infer<typeof reminderSendSchema>;
export type ReminderResult =
  'sent' | 'already_sent' | 'not_invited' | 'unreachable' | 'no_survey' | 'completed' | 'expired';

/**
 * Reminder n of one survey, to the chat contact the invitation went to (none after ZNS): "not started" or "not
 * finished" wording depending on the funnel. A no-op when the survey completed or expired (a
 * cancelled reminder that fires anyway changes nothing) and when reminder n was already sent.
 */
export async function sendReminder(
  p: ReminderSendPayload,
  deps: OutreachDeps,
  now: Date,
): Promise<ReminderResult> {
  const d = await loadDossier(p.dossierCode);
  if (!d) return 'no_survey';
  const closed = surveyClosed(d, now);
  if (closed) return closed as ReminderResult;
  // A ZNS invitation has no contact to remind, and its phone number is erased once sent.
  if (!d.invitation?.sentAt || !d.invitation.contactId || !d.invitation.channel) return 'not_invited';
  if ((d.invitation.remindersSent ?? 0) >= p.n) return 'already_sent';
  const contact = await Contact.findOne({
    _id: d.invitation.contactId,
    unsubscribedAt: null,
    blockedAt: null,
  }).lean();
  const channel = d.invitation.channel as OutreachChannel;
  const sender = deps.senders[channel];
  if (!contact || !sender) return 'unreachable';
  if ((await deps.optOuts?.([String(contact._id)]))?.size) return 'unreachable';
  // Claim reminder n before sending: a duplicate delivery of the job sends nothing.
  const claim = await Dossier.updateOne(
    { code: d.code, 'invitation.remindersSent': { $lt: p.n } },
    { $set: { 'invitation.remindersSent': p.n } },
  );
  if (claim.modifiedCount !== 1) return 'already_sent';
  const lang = contact.lang === 'en' ? 'en' : 'vi';
  const kind = d.funnel?.startedAt ? 'remindResume' : 'remindNew';
  try {
    const outcome = await sender.send(
      { channelUserId: contact.channelUserId, lang, dossierCode: d.code },
      await messageFor(kind, d, channel, lang, deps.env),
    );
    if (outcome === 'blocked' && channel !== 'zns')
      await deps.markBlocked?.({ contactId: String(contact._id), channel, userId: contact.channelUserId });
    if (outcome !== 'sent') return 'unreachable';
  } catch (err) {
    // Transient: give the claim back so the retry sends.
    await Dossier.updateOne(
      { code: d.code, 'invitation.remindersSent': p.n },
      { $set: { 'invitation.remindersSent': p.n - 1 } },
    );
    throw err;
  }
  deps.log.info({ dossier: d.code, n: p.n, channel }, 'reminder sent');
  return 'sent';
}
