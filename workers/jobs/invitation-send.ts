import type { Types } from 'mongoose';
import { z } from 'zod';
import type { Env } from '../../config/env';
import type { Logger } from '../../lib/logger';
import { phoneHashesOf, phoneHashKeys } from '../../lib/phone';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { invitationMessage, type InvitationMessage } from '../../bot/survey/invitation-text';
import { telegramLink, webLink } from '../../bot/survey/links';
import { erasePhone, openPhone } from '../../bot/survey/zns-phone';
import type { InvitationSender } from './invitation-senders';
import type { PhoneInviteClaims } from './invitation-phone-claim';

export const invitationSendSchema = z.object({ dossierCode: z.string().min(1).max(64) });
export type InvitationSendPayload = z.infer<typeof invitationSendSchema>;

/** Channels with a contact record (a chat), and ZNS, which goes by the dossier's phone. */
export type ContactChannel = 'telegram' | 'zalo';
export type OutreachChannel = ContactChannel | 'zns';
export interface OutreachDeps {
  env: Pick<
    Env,
    | 'PUBLIC_URL'
    | 'TELEGRAM_BOT_USERNAME'
    | 'INVITE_COOLDOWN_DAYS'
    | 'INVITE_CHANNEL_ORDER'
    | 'SECRETS_KEY'
    | 'PHONE_HASH_KEY'
    | 'PHONE_HASH_KEY_PREVIOUS'
  >;
  senders: Partial<Record<OutreachChannel, InvitationSender>>;
  log: Logger;
  /** Cooldown claims by phone hash, for ZNS (no contact to claim); without them ZNS is not used. */
  phoneClaims?: PhoneInviteClaims;
  /**
   * Contacts on the opt-out log (workers/broadcast/opt-outs.ts): a /stop whose MongoDB write is
   * still queued already stops an invitation or a reminder.
   */
  optOuts?: (contactIds: readonly string[]) => Promise<Set<string>>;
  /** Marks a contact the platform refused as blocked and unsubscribed (through the contact-change path). */
  markBlocked?: (c: { contactId: string; channel: ContactChannel; userId: string }) => Promise<void>;
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

/**
 * The contacts linked to a dossier, one indexed lookup each (FerretDB does not use an index
 * for `$in`; a dossier links one to three contacts).
 */
async function linkedContacts(ids: Types.ObjectId[]) {
  const found = await Promise.all(ids.map((id) => Contact.findById(id).lean()));
  return found.filter((c): c is NonNullable<typeof c> => c !== null);
}

type ContactLean = Awaited<ReturnType<typeof linkedContacts>>[number];

/** May be messaged: consent on record, not unsubscribed or blocked. */
const reachable = (c: ContactLean): boolean => !!c.consentAt && !c.unsubscribedAt && !c.blockedAt;

/** Contacts of the dossier's applicant that may be messaged: consent on record, not unsubscribed or blocked. */
export async function reachableContacts(ids: Types.ObjectId[]) {
  return (await linkedContacts(ids)).filter(reachable);
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
    {
      ma: d.code,
      donvi: unit?.name ?? (lang === 'en' ? 'The office' : 'Cơ quan'),
      thutuc: d.procedureName ?? d.procedureCode,
    },
    url,
  );
}

export type InvitationResult =
  'sent' | 'already_sent' | 'cooldown' | 'no_channel' | 'no_survey' | 'completed' | 'expired' | 'started';

/**
 * Sends one dossier's proactive invitation, at most once, to the first reachable channel of the
 * admins' order (INVITE_CHANNEL_ORDER: telegram, zalo, zns). A citizen invited on any channel
 * within INVITE_COOLDOWN_DAYS is not invited again (the receipt's QR code and links still work).
 * Once the invitation is decided (sent, skipped, no longer wanted) the dossier's sealed phone
 * number, kept only for ZNS, is erased. A transient failure throws and keeps it for the retry.
 */
export async function sendInvitation(
  p: InvitationSendPayload,
  deps: OutreachDeps,
  now: Date,
): Promise<InvitationResult> {
  const d = await loadDossier(p.dossierCode);
  if (!d) return 'no_survey';
  const result = await decideInvitation(d, deps, now);
  // Decided: the number kept for ZNS (if any) is needed no longer. Idempotent.
  if (d.invitation?.phoneSealed) await erasePhone(d.code);
  return result;
}

async function decideInvitation(d: DossierLean, deps: OutreachDeps, now: Date): Promise<InvitationResult> {
  const closed = surveyClosed(d, now);
  if (closed) return closed as InvitationResult;
  if (d.funnel?.startedAt) return 'started';
  if (d.invitation?.sentAt) return 'already_sent';

  // An upsert without contacts leaves no contactIds array (defaults do not apply to it).
  const found = await linkedContacts(d.contactIds ?? []);
  const out = (await deps.optOuts?.(found.map((c) => String(c._id)))) ?? new Set<string>();
  // On the opt-out log: unsubscribed, though MongoDB may not say so yet.
  const linked = found.map((c) =>
    out.has(String(c._id)) && !c.unsubscribedAt ? { ...c, unsubscribedAt: now } : c,
  );
  const contacts = linked.filter(reachable);
  const claimed = d.invitation?.contactId ?? null;
  const since = new Date(now.getTime() - deps.env.INVITE_COOLDOWN_DAYS * 86400_000);
  const phoneHash = d.applicantPhoneHash ?? null;
  const recent =
    contacts.some((c) => c.lastInvitedAt && c.lastInvitedAt.getTime() > since.getTime()) ||
    (deps.env.INVITE_COOLDOWN_DAYS > 0 &&
      phoneHash !== null &&
      deps.phoneClaims !== undefined &&
      (await deps.phoneClaims.heldByOther(phoneHash, d.code)));
  if (!claimed && recent) return skip(d.code, 'cooldown', deps);

  for (const channel of deps.env.INVITE_CHANNEL_ORDER) {
    const sender = deps.senders[channel];
    if (!sender) continue;
    if (channel === 'zns') {
      // A citizen who said stop on any channel is not messaged by phone either.
      if (linked.some((c) => c.unsubscribedAt)) continue;
      const r = await sendByPhone(d, sender, deps, now);
      if (r) return r;
      continue;
    }
    for (const c of contacts.filter((x) => x.channel === channel)) {
      if (await sendToContact(d, c, channel, claimed, sender, deps, now, since)) return 'sent';
    }
  }
  return skip(d.code, 'no_channel', deps);
}

async function skip(
  code: string,
  why: 'cooldown' | 'no_channel',
  deps: OutreachDeps,
): Promise<InvitationResult> {
  await Dossier.updateOne({ code, 'invitation.sentAt': null }, { $set: { 'invitation.skipped': why } });
  deps.log.info({ dossier: code, why }, 'invitation not sent');
  return why;
}

/**
 * One chat contact. The contact is claimed (its cooldown check and the claim are one update)
 * and recorded on the dossier before sending, so a retry after a transient failure sends to the
 * same contact without counting it against the cooldown. A contact that turns out unreachable
 * gets its claim back: it was not invited.
 */
async function sendToContact(
  d: DossierLean,
  c: ContactLean,
  channel: ContactChannel,
  claimed: Types.ObjectId | null,
  sender: InvitationSender,
  deps: OutreachDeps,
  now: Date,
  since: Date,
): Promise<boolean> {
  const mine = claimed !== null && claimed.equals(c._id);
  if (!mine) {
    const ok = await Contact.updateOne(
      { _id: c._id, $or: [{ lastInvitedAt: null }, { lastInvitedAt: { $lte: since } }] },
      { $set: { lastInvitedAt: now } },
    );
    if (ok.modifiedCount !== 1) return false;
    await Dossier.updateOne(
      { code: d.code },
      { $set: { 'invitation.contactId': c._id, 'invitation.channel': channel } },
    );
  }
  const lang = c.lang === 'en' ? 'en' : 'vi';
  const outcome = await sender.send(
    { channelUserId: c.channelUserId, lang, dossierCode: d.code },
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
    return true;
  }
  if (!mine)
    await Contact.updateOne(
      { _id: c._id, lastInvitedAt: now },
      { $set: { lastInvitedAt: c.lastInvitedAt ?? null } },
    );
  await Dossier.updateOne(
    { code: d.code, 'invitation.contactId': c._id },
    { $set: { 'invitation.contactId': null, 'invitation.channel': null } },
  );
  // After the claim is given back: the mark is written by a job, and on FerretDB an update rewrites
  // the whole document, so a mark applied between the claim and its return could bring the claim back.
  if (outcome === 'blocked')
    await deps.markBlocked?.({ contactId: String(c._id), channel, userId: c.channelUserId });
  deps.log.info(
    { dossier: d.code, contactId: String(c._id), channel },
    'invitation: contact unreachable, trying the next channel',
  );
  return false;
}

/**
 * Zalo ZNS by the dossier's phone: only when the number was kept (ZNS configured), the phone is
 * not in another dossier's cooldown, and it has a Zalo account. Sent: the number is erased in
 * the same update. Null: try the next channel.
 */
async function sendByPhone(
  d: DossierLean,
  sender: InvitationSender,
  deps: OutreachDeps,
  now: Date,
): Promise<InvitationResult | null> {
  const sealed = d.invitation?.phoneSealed;
  const phoneHash = d.applicantPhoneHash;
  if (!sealed || !phoneHash || !deps.phoneClaims) return null;
  let phone: string;
  try {
    phone = openPhone(deps.env, d.code, sealed);
  } catch (err) {
    // A changed SECRETS_KEY or a damaged value: ZNS is impossible for this dossier.
    deps.log.warn(
      { dossier: d.code, err: (err as Error).message },
      'sealed phone does not open; ZNS skipped',
    );
    return null;
  }
  // During a change of PHONE_HASH_KEY another dossier of this phone may hold its claim under the
  // other key's hash: the cooldown is claimed under every key's hash.
  const keys = phoneHashKeys(deps.env.PHONE_HASH_KEY, deps.env.PHONE_HASH_KEY_PREVIOUS);
  const hashes = [...new Set([phoneHash, ...phoneHashesOf(phone, keys)])];
  const ttl = deps.env.INVITE_COOLDOWN_DAYS * 86400;
  if (!(await deps.phoneClaims.claimEvery(hashes, d.code, ttl))) return skip(d.code, 'cooldown', deps);
  const outcome = await sender.send(
    { phone, lang: 'vi', dossierCode: d.code },
    await messageFor('invite', d, 'zns', 'vi', deps.env),
  );
  if (outcome !== 'sent') {
    await deps.phoneClaims.releaseEvery(hashes, d.code);
    deps.log.info({ dossier: d.code, channel: 'zns' }, 'invitation: phone unreachable on ZNS');
    return null;
  }
  await Dossier.updateOne(
    { code: d.code },
    {
      $set: {
        'invitation.sentAt': now,
        'invitation.contactId': null,
        'invitation.channel': 'zns',
        'invitation.skipped': null,
      },
      $unset: { 'invitation.phoneSealed': 1 },
    },
  );
  deps.log.info({ dossier: d.code, channel: 'zns' }, 'invitation sent');
  return 'sent';
}
