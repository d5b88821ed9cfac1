import type { Types } from 'mongoose';
import { z } from 'zod';
import type { Env } from '../../config/env';
import type { Logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { invitationMessage, type InvitationMessage } from '../../bot/survey/invitation-text';
import { telegramLink, webLink } from '../../bot/survey/links';
import type { InvitationSender } from './invitation-senders';

export const invitationSendSchema = z.object({ dossierCode: z.string().min(1).max(64) });
export type InvitationSendPayload = z.infer<typeof invitationSendSchema>;

export type OutreachChannel = 'telegram' | 'zalo';
export interface OutreachDeps {
  env: Pick<Env, 'PUBLIC_URL' | 'TELEGRAM_BOT_USERNAME' | 'INVITE_COOLDOWN_DAYS' | 'INVITE_CHANNEL_ORDER'>;
  senders: Partial<Record<OutreachChannel, InvitationSender>>;
  log: Logger;
}

export type DossierLean = NonNullable<Awaited<ReturnType<typeof loadDossier>>>;
export async function loadDossier(code: string) {
  return Dossier.findOne({ code }).lean();
}

/** Why a survey no longer wants proactive messages, or null when it still does. */
export function surveyClosed(d: DossierLean, now: Date): string | null {
  if (!d.survey?.token) return 'no_survey';
  if (d.survey.responseId || d.funnel?.completedAt) return 'completed';
  if (d.survey.expiresAt && d.survey.expiresAt.getTime() <= now.getTime()) return 'expired';
  return null;
}

/** Contacts of the dossier's applicant that may be messaged: consent on record, not unsubscribed or blocked. */
export async function reachableContacts(ids: Types.ObjectId[]) {
  if (ids.length === 0) return [];
  return Contact.find({
    _id: { $in: ids },
    consentAt: { $ne: null },
    unsubscribedAt: null,
    blockedAt: null,
  }).lean();
}

export async function messageFor(
  kind: 'invite' | 'remindNew' | 'remindResume',
  d: DossierLean,
  channel: OutreachChannel,
  lang: 'vi' | 'en',
  env: OutreachDeps['env'],
): Promise<InvitationMessage> {
  const unit = await Unit.findOne({ code: d.unitCode }, { name: 1 }).lean();
  const token = d.survey!.token!;
  const url =
    channel === 'telegram' ? (telegramLink(env, token) ?? webLink(env, token)) : webLink(env, token);
  return invitationMessage(
    kind,
    lang,
    { ma: d.code, donvi: unit?.name ?? (lang === 'en' ? 'The office' : 'Cơ quan') },
    url,
  );
}

export type InvitationResult =
  'sent' | 'already_sent' | 'cooldown' | 'no_channel' | 'no_survey' | 'completed' | 'expired' | 'started';

/**
 * Sends one dossier's proactive invitation, at most once, to the first reachable channel of the
 * admins' order. A citizen invited on any channel within INVITE_COOLDOWN_DAYS is not invited
 * again (the receipt's QR code and links still work). The chosen contact is recorded on the
 * dossier before sending, so a retry after a transient failure sends to the same contact
 * without counting it against the cooldown.
 */
export async function sendInvitation(
  p: InvitationSendPayload,
  deps: OutreachDeps,
  now: Date,
): Promise<InvitationResult> {
  const d = await loadDossier(p.dossierCode);
  if (!d) return 'no_survey';
  const closed = surveyClosed(d, now);
  if (closed) return closed as InvitationResult;
  if (d.funnel?.startedAt) return 'started';
  if (d.invitation?.sentAt) return 'already_sent';

  const contacts = await reachableContacts(d.contactIds);
  const order = deps.env.INVITE_CHANNEL_ORDER;
  const candidates = contacts
    .filter((c) => order.includes(c.channel as OutreachChannel) && deps.senders[c.channel as OutreachChannel])
    .sort(
      (a, b) => order.indexOf(a.channel as OutreachChannel) - order.indexOf(b.channel as OutreachChannel),
    );
  const claimed = d.invitation?.contactId ?? null;
  const since = new Date(now.getTime() - deps.env.INVITE_COOLDOWN_DAYS * 86400_000);
  if (!claimed && contacts.some((c) => c.lastInvitedAt && c.lastInvitedAt.getTime() > since.getTime())) {
    await Dossier.updateOne(
      { code: d.code, 'invitation.sentAt': null },
      { $set: { 'invitation.skipped': 'cooldown' } },
    );
    deps.log.info({ dossier: d.code }, 'invitation skipped: citizen invited recently');
    return 'cooldown';
  }

  for (const c of candidates) {
    const channel = c.channel as OutreachChannel;
    if (!claimed || !claimed.equals(c._id)) {
      // Claim the citizen for this dossier: the cooldown check and the claim are one update.
      const ok = await Contact.updateOne(
        { _id: c._id, $or: [{ lastInvitedAt: null }, { lastInvitedAt: { $lte: since } }] },
        { $set: { lastInvitedAt: now } },
      );
      if (ok.modifiedCount !== 1) continue;
      await Dossier.updateOne(
        { code: d.code },
        { $set: { 'invitation.contactId': c._id, 'invitation.channel': channel } },
      );
    }
    const lang = c.lang === 'en' ? 'en' : 'vi';
    const outcome = await deps.senders[channel]!.send(
      { channelUserId: c.channelUserId, lang },
      await messageFor('invite', d, channel, lang, deps.env),
    );
    if (outcome === 'sent') {
      await Dossier.updateOne(
        { code: d.code },
        {
          $set: {
            'invitation.sentAt': now,
            'invitation.contactId': c._id,
            'invitation.channel': channel,
            'invitation.skipped': null,
          },
        },
      );
      deps.log.info({ dossier: d.code, contactId: String(c._id), channel }, 'invitation sent');
      return 'sent';
    }
    deps.log.info(
      { dossier: d.code, contactId: String(c._id), channel },
      'invitation: contact unreachable, trying the next channel',
    );
  }
  await Dossier.updateOne(
    { code: d.code, 'invitation.sentAt': null },
    { $set: { 'invitation.skipped': 'no_channel' } },
  );
  return 'no_channel';
}
