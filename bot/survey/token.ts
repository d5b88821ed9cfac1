import { randomBytes } from 'node:crypto';
import { Dossier } from '../../models/dossier';
import type { TokenDossier, TokenResolution } from '../conversation/ports';
import { Unit } from '../../models/unit';
import { markStage } from './funnel';
import { UNIT_START_PREFIX } from './links';

/**
 * Survey tokens: 24 random bytes as base64url (32 characters), so they fit Telegram's /start
 * parameter (≤ 64 of [A-Za-z0-9_-]) and cannot be guessed. One token names one dossier.
 */
export const TOKEN_RE = /^[A-Za-z0-9_-]{16,64}$/;

export function newSurveyToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface IssuedSurvey {
  token: string;
  issuedAt: Date;
  expiresAt: Date;
  /** True when this call created the token (false: the dossier already had one). */
  created: boolean;
}

/**
 * Gives a dossier its survey token, once: the conditional update only sets a token where none
 * is, so two concurrent deliveries of the same event end with the same token.
 */
export async function issueSurveyToken(
  dossierCode: string,
  now: Date,
  ttlHours: number,
): Promise<IssuedSurvey> {
  const token = newSurveyToken();
  const expiresAt = new Date(now.getTime() + ttlHours * 3600_000);
  const set = await Dossier.updateOne(
    { code: dossierCode, 'survey.token': null },
    { $set: { 'survey.token': token, 'survey.issuedAt': now, 'survey.expiresAt': expiresAt } },
  );
  if (set.modifiedCount === 1) return { token, issuedAt: now, expiresAt, created: true };
  const d = await Dossier.findOne({ code: dossierCode }, { survey: 1 }).lean();
  if (!d?.survey?.token || !d.survey.issuedAt || !d.survey.expiresAt)
    throw new Error(`dossier ${dossierCode} has no survey token`);
  return {
    token: d.survey.token,
    issuedAt: d.survey.issuedAt,
    expiresAt: d.survey.expiresAt,
    created: false,
  };
}

type Verified =
  | {
      ok: true;
      dossier: TokenDossier & {
        survey: { token: string; expiresAt: Date | null; responseId: string | null };
      };
    }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' };

/** Checks a token without side effects. */
export async function verifySurveyToken(token: string, now: Date): Promise<Verified> {
  if (!TOKEN_RE.test(token)) return { ok: false, reason: 'unknown' };
  const d = await Dossier.findOne({ 'survey.token': token }).lean();
  if (!d?.survey?.token) return { ok: false, reason: 'unknown' };
  if (d.survey.responseId || d.funnel?.completedAt) return { ok: false, reason: 'used' };
  if (d.survey.expiresAt && d.survey.expiresAt.getTime() <= now.getTime())
    return { ok: false, reason: 'expired' };
  return {
    ok: true,
    dossier: {
      code: d.code,
      unitCode: d.unitCode,
      procedureCode: d.procedureCode,
      procedureName: d.procedureName ?? null,
      officerId: d.officerId ?? null,
      channel: d.channel,
      onlineLevel: d.onlineLevel ?? null,
      survey: {
        token: d.survey.token,
        expiresAt: d.survey.expiresAt ?? null,
        responseId: d.survey.responseId ?? null,
      },
    },
  };
}

/**
 * A unit's own survey, started from a poster or the unit's website (`u_<unit code>`, see
 * bot/survey/links.ts): the unit must exist today.
 */
export async function verifyUnitStart(
  token: string,
  now: Date,
): Promise<{ ok: true; unitCode: string } | { ok: false; reason: 'unknown' }> {
  if (!token.startsWith(UNIT_START_PREFIX)) return { ok: false, reason: 'unknown' };
  const code = token.slice(UNIT_START_PREFIX.length);
  const unit = code ? await Unit.findOne({ code }, { code: 1, validFrom: 1, validTo: 1 }).lean() : null;
  if (!unit || (unit.validFrom && unit.validFrom > now) || (unit.validTo && unit.validTo < now))
    return { ok: false, reason: 'unknown' };
  return { ok: true, unitCode: unit.code };
}

/**
 * The resolver the conversation service calls on `start <token>` (bot/conversation/ports.ts).
 * A valid token counts the dossier as "opened". A dossier's token is tried first, so a random
 * token that happens to begin with `u_` still names its dossier.
 */
export async function resolveSurveyToken(token: string, now: Date): Promise<TokenResolution> {
  const v = await verifySurveyToken(token, now);
  if (v.ok) await markStage(v.dossier.code, 'opened', now);
  if (v.ok || v.reason !== 'unknown') return v;
  const unit = await verifyUnitStart(token, now);
  return unit.ok ? { ok: true, dossier: null, unitCode: unit.unitCode } : v;
}
