import type { Types, UpdateQuery } from 'mongoose';
import type { Env } from '../../config/env';
import { phoneHashesOf, phoneHashKeys, phoneKeyId } from '../../lib/phone';
import { isDuplicateKey } from '../../lib/mongo';
import { Contact } from '../../models/contact';
import { Dossier, type DossierDoc } from '../../models/dossier';
import { finishedDayOf, scheduleDossierDay } from '../../workers/aggregation/rollups/dossiers';
import type { ScheduleDeps } from '../../workers/aggregation/rollups/schedule';
import { SURVEY_STATUSES, type DossierEvent, type FieldIssue } from './dossier-event';
import { dossierUnit, dossierUnitDate } from './dossier-unit';
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
  env: Pick<
    Env,
    | 'PHONE_HASH_KEY'
    | 'PHONE_HASH_KEY_PREVIOUS'
    | 'SURVEY_TOKEN_TTL_HOURS'
    | 'PUBLIC_URL'
    | 'TELEGRAM_BOT_USERNAME'
  > &
    ZnsEnv;
  outreach?: OutreachScheduler;
  /**
   * Where the dossier counts of its finish day are asked for (workers/aggregation/rollups/dossiers.ts);
   * null only where nothing reads them (tests of the outreach), never in the API or the import.
   */
  rollups: ScheduleDeps | null;
  /** The coalescing window of those recounts (default ROLLUP_COALESCE_MS). */
  rollupDelayMs?: number;
  now?: Date;
  source?: string;
  /**
   * The units the caller may write, subtree-expanded (bot/http/api-caller.ts): the dossier's unit
   * must be one of them, and so must the unit of a dossier already stored under the same code.
   * Absent or null: every unit (the CLI import, an unscoped key).
   */
  units?: readonly string[] | null;
}

/**
 * Why an event was not stored: `invalid` a wrong field (422), `forbidden` its unit is outside the
 * caller's units (403), `elsewhere` its code belongs to a dossier of a unit outside them (404: the
 * issue says nothing about that dossier).
 */
export type IngestRefusal = 'invalid' | 'forbidden' | 'elsewhere';

export type IngestResult =
  | {
      ok: true;
      created: boolean;
      code: string;
      status: string;
      /** The unit the dossier is stored under; `unitMappedFrom` the posted one when it had ended. */
      unitCode: string;
      unitMappedFrom: string | null;
      survey: (SurveyLinks & { expiresAt: string }) | null;
    }
  | { ok: false; reason: IngestRefusal; issues: FieldIssue[] };

const ENDED = new Set(['finished', 'returned', 'cancelled']);
const ELSEWHERE: IngestResult = {
  ok: false,
  reason: 'elsewhere',
  issues: [{ path: 'code', message: "no dossier with this code among the key's units" }],
};

/**
 * Stores one dossier event, idempotently by dossier code: the same event twice gives the same
 * dossier and the same survey token. Only finished/returned dossiers get a survey. The phone
 * number is stored as its keyed hash (matching contacts across channels); the plain number only
 * when the channel order contains ZNS, sealed, until the invitation is decided (zns-phone.ts).
 * A refused event writes nothing: the dossier is the first write, and it cannot touch a dossier
 * outside the caller's units.
 */
export async function ingestDossierEvent(event: DossierEvent, deps: IngestDeps): Promise<IngestResult> {
  const now = deps.now ?? new Date();
  const units = deps.units ?? null;
  const unit = await dossierUnit(event.unitCode, dossierUnitDate(event, now));
  if (!unit.ok) return { ok: false, reason: 'invalid', issues: [unit.issue] };
  if (units && !units.includes(unit.unitCode)) {
    const named = unit.mappedFrom ? `${unit.mappedFrom} (now ${unit.unitCode})` : unit.unitCode;
    return {
      ok: false,
      reason: 'forbidden',
      issues: [{ path: 'unitCode', message: `this key may not post events of unit ${named}` }],
    };
  }

  const existing = await Dossier.findOne({ code: event.code }, { status: 1, unitCode: 1 }).lean();
  if (existing && units && !units.includes(existing.unitCode)) return ELSEWHERE;
  // Events may arrive out of order: an ended dossier does not go back to received/processing.
  const keepStatus = existing && ENDED.has(existing.status) && !ENDED.has(event.status);
  const phone = phoneOf(event, deps.env);
  const fields: Record<string, unknown> = {
    procedureCode: event.procedureCode,
    procedureName: event.procedureName,
    unitCode: unit.unitCode,
    channel: event.channel,
    onlineLevel: event.onlineLevel,
    receivedAt: event.receivedAt,
    dueAt: event.dueAt,
    finishedAt: event.finishedAt,
    finishedDay: finishedDayOf(event.finishedAt),
    returnedAt: event.returnedAt,
    officerId: event.officerId,
  };
  if (!keepStatus) fields.status = event.status;
  if (phone) {
    fields.applicantPhoneHash = phone.hash;
    fields.applicantPhoneKeyId = phone.keyId;
  }
  const written = await upsertDossier(
    event.code,
    { $set: fields, $setOnInsert: { source: deps.source ?? 'api' } },
    units,
  );
  if (written === 'elsewhere') return ELSEWHERE;
  const created = written.outcome === 'created';
  // After the write (dossiers.ts): the day it is counted in now, and the one it left.
  const days = new Map<string, [string, string]>();
  for (const d of [
    written.before,
    { unitCode: unit.unitCode, finishedDay: fields.finishedDay as string | null },
  ])
    if (d?.finishedDay) days.set(`${d.unitCode}|${d.finishedDay}`, [d.unitCode, d.finishedDay]);
  if (deps.rollups)
    for (const [u, d] of days.values()) await scheduleDossierDay(deps.rollups, u, d, deps.rollupDelayMs);
  const contactIds = await linkContacts(event, phone);
  if (contactIds.length > 0)
    await Dossier.updateOne(inUnits(event.code, units), { $addToSet: { contactIds: { $each: contactIds } } });

  const status = keepStatus && existing ? existing.status : event.status;
  const stored = {
    ok: true as const,
    created,
    code: event.code,
    status,
    unitCode: unit.unitCode,
    unitMappedFrom: unit.mappedFrom,
  };
  if (!SURVEY_STATUSES.has(status)) return { ...stored, survey: null };

  const issued = await issueSurveyToken(event.code, now, deps.env.SURVEY_TOKEN_TTL_HOURS);
  if (issued.created) await markStage(event.code, 'invited', now);
  const sealed =
    znsEnabled(deps.env) && event.applicant?.phone
      ? sealPhone(deps.env, event.code, event.applicant.phone)
      : null;
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
    ...stored,
    survey: { ...surveyLinks(deps.env, issued.token), expiresAt: issued.expiresAt.toISOString() },
  };
}

function inUnits(code: string, units: readonly string[] | null): Record<string, unknown> {
  return units ? { code, unitCode: { $in: units } } : { code };
}

/** Where a dossier was counted before a write (its unit and finish day). */
export interface CountedAt {
  unitCode: string;
  finishedDay?: string | null;
}

/**
 * Upserts the dossier `code`, matching only a dossier of `units` (null: any): the write itself
 * cannot take over another unit's dossier, whatever happened since the caller looked. A dossier
 * of another unit makes the upsert's insert hit the unique code: 'elsewhere', nothing written.
 * `before`: the dossier as the write found it (null when created), for the counts it leaves.
 */
export async function upsertDossier(
  code: string,
  update: UpdateQuery<DossierDoc>,
  units: readonly string[] | null,
): Promise<{ outcome: 'created' | 'updated'; before: CountedAt | null } | 'elsewhere'> {
  const filter = inUnits(code, units);
  try {
    const before = await Dossier.findOneAndUpdate(filter, update, {
      upsert: true,
      returnDocument: 'before',
      lean: true,
    });
    return before === null ? { outcome: 'created', before: null } : { outcome: 'updated', before };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  // The code exists: either a first delivery of the same dossier won a race with ours (it is in
  // `units`: update it) or the dossier is another unit's.
  const before = await Dossier.findOneAndUpdate(filter, update, { returnDocument: 'before', lean: true });
  return before === null ? 'elsewhere' : { outcome: 'updated', before };
}

/** The applicant's phone: its hash under PHONE_HASH_KEY, and under the older keys of a key change. */
interface ApplicantPhone {
  hash: string;
  keyId: string;
  older: string[];
}

function phoneOf(event: DossierEvent, env: IngestDeps['env']): ApplicantPhone | null {
  if (!event.applicant?.phone) return null;
  const keys = phoneHashKeys(env.PHONE_HASH_KEY, env.PHONE_HASH_KEY_PREVIOUS);
  const [hash, ...older] = phoneHashesOf(event.applicant.phone, keys);
  return hash ? { hash, keyId: phoneKeyId(keys[0]!), older } : null;
}

/**
 * Contacts named by the event (a Telegram chat or Zalo user the one-stop system knows) are
 * created or found, and given the phone hash; contacts linked earlier under the same phone are
 * found too, also by the hash an older key made during a key change, and that hash is rewritten
 * under the current key: each returning applicant moves their contact to the new key, so the old
 * key can leave once `hailong secrets phone-hashes` counts none under it. The rewrite is
 * conditional on the hash read (an erasure meanwhile wins). Whether one may be messaged
 * (consent, unsubscribed) is decided when sending.
 */
async function linkContacts(event: DossierEvent, phone: ApplicantPhone | null): Promise<Types.ObjectId[]> {
  const ids: Types.ObjectId[] = [];
  const named: Array<{ channel: 'telegram' | 'zalo'; userId: string }> = [];
  const tg = event.applicant?.telegramChatId;
  if (tg !== null && tg !== undefined && tg !== '') named.push({ channel: 'telegram', userId: String(tg) });
  if (event.applicant?.zaloUserId) named.push({ channel: 'zalo', userId: event.applicant.zaloUserId });
  const current = phone ? { phoneHash: phone.hash, phoneHashKeyId: phone.keyId } : null;
  for (const n of named) {
    const c = await upsertContact(n.channel, n.userId);
    if (current && !c.phoneHash) await Contact.updateOne({ _id: c._id, phoneHash: null }, { $set: current });
    ids.push(c._id);
  }
  if (current && phone) {
    const same = await Contact.find(
      { phoneHash: { $in: [phone.hash, ...phone.older] } },
      { _id: 1, phoneHash: 1, phoneHashKeyId: 1 },
    ).lean();
    for (const c of same) {
      if (c.phoneHash !== phone.hash || c.phoneHashKeyId !== phone.keyId)
        await Contact.updateOne({ _id: c._id, phoneHash: c.phoneHash }, { $set: current });
      if (!ids.some((id) => id.equals(c._id))) ids.push(c._id);
    }
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
