import type { Types } from 'mongoose';
import type { Env } from '../../config/env';
import { phoneHashOf } from '../../lib/phone';
import { isDuplicateKey } from '../../lib/mongo';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { SURVEY_STATUSES, type DossierEvent, type FieldIssue } from './dossier-event';
import { markStage } from './funnel';
import { surveyLinks, type SurveyLinks } from './links';
import { issueSurveyToken } from './token';
import { keepPhoneForZns, sealPhone, znsEnabled, type ZnsEnv } from './zns-phone';

/** Schedules the proactive invitation, the reminders and the expiry of one dossier's survey. */
export interface OutreachScheduler {
  /** `keepsPhone`: the dossier holds a sealed phone number for ZNS, to erase at expiry. */
  schedule(
    p: { dossierCode: string; issuedAt: Date; expiresAt: Date; keepsPhone?: boolean },
    now: Date,
  ): Promise<void>;
}

export interface IngestDeps {
  env: Pick<Env, 'PHONE_HASH_KEY' | 'SURVEY_TOKEN_TTL_HOURS' | 'PUBLIC_URL' | 'TELEGRAM_BOT_USERNAME'> & ZnsEnv;
  outreach?: OutreachScheduler;
  now?: Date;
  source?: string;
}

export type IngestResult =
  | {
      ok: true;
      created: boolean;
      code: string;
      status: string;
      survey: (SurveyLinks & { expiresAt: string }) | null;
    }
  | { ok: false; issues: FieldIssue[] };

const ENDED = new Set(['finished', 'returned', 'cancelled']);

/**
 * Stores one dossier event, idempotently by dossier code: the same event twice gives the same
 * dossier and the same survey token. Only finished/returned dossiers get a survey. The phone
 * number is stored as its keyed hash (matching contacts across channels); the plain number only
 * when the channel order contains ZNS, sealed, until the invitation is decided (zns-phone.ts).
 */
export async function ingestDossierEvent(event: DossierEvent, deps: IngestDeps): Promise<IngestResult> {
  const now = deps.now ?? new Date();
  // A merged unit (validTo past, successorCode set) still exists under its old code: accepted.
  const unit = await Unit.exists({ code: event.unitCode });
  if (!unit) return { ok: false, issues: [{ path: 'unitCode', message: 'unknown unit code' }] };

  const phoneHash = event.applicant?.phone
    ? phoneHashOf(event.applicant.phone, deps.env.PHONE_HASH_KEY)
    : null;
  const contactIds = await linkContacts(event, phoneHash);

  const existing = await Dossier.findOne({ code: event.code }, { status: 1 }).lean();
  // Events may arrive out of order: an ended dossier does not go back to received/processing.
  const keepStatus = existing && ENDED.has(existing.status) && !ENDED.has(event.status);
  const fields: Record<string, unknown> = {
    procedureCode: event.procedureCode,
    procedureName: event.procedureName,
    unitCode: event.unitCode,
    channel: event.channel,
    onlineLevel: event.onlineLevel,
    receivedAt: event.receivedAt,
    dueAt: event.dueAt,
    finishedAt: event.finishedAt,
    returnedAt: event.returnedAt,
    officerId: event.officerId,
  };
  if (!keepStatus) fields.status = event.status;
  if (phoneHash) fields.applicantPhoneHash = phoneHash;
  const update = {
    $set: fields,
    $setOnInsert: { source: deps.source ?? 'api' },
    ...(contactIds.length > 0 ? { $addToSet: { contactIds: { $each: contactIds } } } : {}),
  };
  let created = false;
  try {
    const before = await Dossier.findOneAndUpdate({ code: event.code }, update, {
      upsert: true,
      returnDocument: 'before',
      lean: true,
    });
    created = before === null;
  } catch (err) {
    // Two first deliveries raced on the unique code: the loser updates the winner's document.
    if (!isDuplicateKey(err)) throw err;
    await Dossier.updateOne({ code: event.code }, update);
  }

  const status = keepStatus && existing ? existing.status : event.status;
  if (!SURVEY_STATUSES.has(status)) return { ok: true, created, code: event.code, status, survey: null };

  const issued = await issueSurveyToken(event.code, now, deps.env.SURVEY_TOKEN_TTL_HOURS);
  if (issued.created) await markStage(event.code, 'invited', now);
  const sealed =
    znsEnabled(deps.env) && event.applicant?.phone ? sealPhone(deps.env, event.code, event.applicant.phone) : null;
  const keepsPhone = sealed !== null && (await keepPhoneForZns(event.code, sealed, now));
  // Scheduling again on a repeat is harmless (stable job ids) and repairs a crash between the
  // token and the enqueue.
  if (deps.outreach)
    await deps.outreach.schedule(
      {
        dossierCode: event.code,
        issuedAt: issued.issuedAt,
        expiresAt: issued.expiresAt,
        ...(keepsPhone ? { keepsPhone } : {}),
      },
      now,
    );
  return {
    ok: true,
    created,
    code: event.code,
    status,
    survey: { ...surveyLinks(deps.env, issued.token), expiresAt: issued.expiresAt.toISOString() },
  };
}

/**
 * Contacts named by the event (a Telegram chat or Zalo user the one-stop system knows) are
 * created or found, and given the phone hash; contacts linked earlier under the same phone hash
 * are found too. Whether one may be messaged (consent, unsubscribed) is decided when sending.
 */
async function linkContacts(event: DossierEvent, phoneHash: string | null): Promise<Types.ObjectId[]> {
  const ids: Types.ObjectId[] = [];
  const named: Array<{ channel: 'telegram' | 'zalo'; userId: string }> = [];
  const tg = event.applicant?.telegramChatId;
  if (tg !== null && tg !== undefined && tg !== '') named.push({ channel: 'telegram', userId: String(tg) });
  if (event.applicant?.zaloUserId) named.push({ channel: 'zalo', userId: event.applicant.zaloUserId });
  for (const n of named) {
    const c = await upsertContact(n.channel, n.userId);
    if (phoneHash && !c.phoneHash)
      await Contact.updateOne({ _id: c._id, phoneHash: null }, { $set: { phoneHash } });
    ids.push(c._id);
  }
  if (phoneHash) {
    const same = await Contact.find({ phoneHash }, { _id: 1 }).lean();
    for (const c of same) if (!ids.some((id) => id.equals(c._id))) ids.push(c._id);
  }
  return ids;
}

async function upsertContact(
  channel: 'telegram' | 'zalo',
  userId: string,
): Promise<{ _id: Types.ObjectId; phoneHash?: string | null }> {
  const filter = { channel, channelUserId: userId };
  try {
    const c = await Contact.findOneAndUpdate(
      filter,
      { $setOnInsert: { lang: 'vi' } },
      { upsert: true, returnDocument: 'after', lean: true },
    );
    if (c) return c;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const c = await Contact.findOne(filter).lean();
  if (!c) throw new Error('contact upsert returned nothing');
  return c;
}
