import { createHash, createHmac } from 'node:crypto';
import { hcmDay } from '../../../lib/time';
import { Dossier } from '../../../models/dossier';
import { Session } from '../../../models/session';
import type { ResponseCompletePayload } from '../../jobs/response-meta';
import type { JobContext } from '../../registry';
import { upsertFlags, type FlagTarget } from './flags';

/**
 * Integrity rule "shared contact": one contact (a Telegram chat, a Zalo user, a web-chat device:
 * the web contact is the device cookie, kept as a keyed hash) answering for many different
 * applicants within a window looks like someone answering on citizens' behalf. Applicants are
 * told apart by the dossier's applicant phone hash, else by the dossier: one citizen answering
 * for several of their own dossiers is not flagged.
 *
 * Responses carry no contact id (Law 91/2025/QH15), so the link needed here lives in Redis only for
 * the window (a sorted set per keyed hash of the contact, expiring), never in MongoDB; flags
 * carry counts only.
 */
export interface SharedContactRule {
  /** At least this many different applicants... */
  minApplicants: number;
  /** ...within this many milliseconds. */
  windowMs: number;
}

export interface ContactAnswer extends FlagTarget {
  /** Hash of the applicant (phone hash or dossier code); only compared. */
  applicant: string;
  at: number;
}

/**
 * Pure: the answers that fall in some window of `windowMs` (inclusive at both ends) holding at
 * least `minApplicants` different applicants.
 */
export function findSharedContact(rows: readonly ContactAnswer[], rule: SharedContactRule): ContactAnswer[] {
  const sorted = [...rows].sort((a, b) => a.at - b.at || a.responseId.localeCompare(b.responseId));
  const hit = new Set<number>();
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    end = Math.max(end, start);
    while (end + 1 < sorted.length && sorted[end + 1]!.at - sorted[start]!.at <= rule.windowMs) end++;
    const span = sorted.slice(start, end + 1);
    if (new Set(span.map((r) => r.applicant)).size >= rule.minApplicants)
      for (let i = start; i <= end; i++) hit.add(i);
  }
  return [...hit].sort((a, b) => a - b).map((i) => sorted[i]!);
}

const short = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);

function encode(r: ContactAnswer): string {
  return [r.applicant, r.responseId, r.unitCode, r.day].join('|');
}
function decode(member: string, score: string): ContactAnswer | null {
  const [applicant, responseId, unitCode, day] = member.split('|');
  if (!applicant || !responseId || !unitCode || !day) return null;
  return { applicant, responseId, unitCode, day, at: Number(score) };
}

export function ruleFromEnv(env: JobContext['env']): SharedContactRule {
  return {
    minApplicants: env.INTEGRITY_CONTACT_MIN_APPLICANTS,
    windowMs: env.INTEGRITY_CONTACT_WINDOW_HOURS * 3_600_000,
  };
}

/**
 * After completion: records (contact, applicant, response) for the window and flags every answer
 * of this contact in a window with too many applicants. Idempotent (a set member and a flag per
 * response). Responses without a session (imported, tests) or without a dossier are skipped.
 */
/** The Redis key of one contact's recent answers (a keyed hash: the contact id is not in it). */
export function sharedContactKey(
  prefix: string,
  hashKey: string,
  channel: string,
  contactId: string,
): string {
  const contact = createHmac('sha256', hashKey)
    .update(`contact:${channel}:${contactId}`)
    .digest('base64url')
    .slice(0, 32);
  return `${prefix}:integ:contact:${contact}`;
}

export async function checkSharedContact(
  p: ResponseCompletePayload,
  ctx: Pick<JobContext, 'redis' | 'prefix' | 'env'>,
  now = new Date(),
): Promise<number> {
  const { dossierCode, unitCode } = p.meta;
  if (!dossierCode || !unitCode) return 0;
  const session = await Session.findOne(
    { responseId: p.responseId },
    { _id: 0, contactId: 1, channel: 1 },
  ).lean();
  if (!session) return 0;
  const dossier = await Dossier.findOne({ code: dossierCode }, { _id: 0, applicantPhoneHash: 1 }).lean();
  const rule = ruleFromEnv(ctx.env);
  const at = Date.parse(p.completedAt);
  const me: ContactAnswer = {
    applicant: short(dossier?.applicantPhoneHash ? `p:${dossier.applicantPhoneHash}` : `d:${dossierCode}`),
    responseId: p.responseId,
    unitCode,
    day: hcmDay(new Date(at)),
    at,
  };
  const key = sharedContactKey(
    ctx.prefix,
    ctx.env.PHONE_HASH_KEY,
    session.channel,
    String(session.contactId),
  );
  const got = await ctx.redis
    .multi()
    .zadd(key, at, encode(me))
    .zrangebyscore(key, at - rule.windowMs, at + rule.windowMs, 'WITHSCORES')
    // Kept only as long as a window that can still include this answer (out-of-order completions included).
    .pexpire(key, 2 * rule.windowMs + 3_600_000)
    .exec();
  const flat = (got?.[1]?.[1] as string[] | undefined) ?? [];
  const rows: ContactAnswer[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const r = decode(flat[i]!, flat[i + 1]!);
    if (r) rows.push(r);
  }
  const hits = findSharedContact(rows, rule);
  if (hits.length === 0) return 0;
  const applicants = new Set(hits.map((h) => h.applicant)).size;
  return upsertFlags(
    hits,
    'shared_contact',
    { applicants, windowHours: ctx.env.INTEGRITY_CONTACT_WINDOW_HOURS },
    now,
  );
}
