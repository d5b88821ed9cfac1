import type { Env } from '../../config/env';
import { normalisePhone } from '../../lib/phone';
import { Dossier } from '../../models/dossier';
import { decryptSecret, encryptSecret, parseSecretsKey } from '../../lib/secret-box';

/**
 * The applicant's plain phone number, kept only for a Zalo ZNS invitation (ZNS goes by phone).
 * Law 91/2025/QH15 (only what the purpose needs): stored only when the admins' channel order
 * contains zns and a ZNS template is configured, encrypted at rest (AES-256-GCM with SECRETS_KEY, the dossier code bound as
 * associated data), and erased as soon as the invitation is decided (sent on any channel,
 * skipped), the survey ends, or the token expires. Never logged.
 */
export type ZnsEnv = Pick<Env, 'INVITE_CHANNEL_ORDER' | 'ZALO_ZNS_TEMPLATE_ID' | 'SECRETS_KEY'> &
  Partial<Pick<Env, 'SECRETS_KEY_PREVIOUS'>>;

export function znsEnabled(env: ZnsEnv): boolean {
  return env.INVITE_CHANNEL_ORDER.includes('zns') && !!env.ZALO_ZNS_TEMPLATE_ID && !!env.SECRETS_KEY;
}

const aad = (dossierCode: string): string => `dossier-phone:${dossierCode}`;

/** The normalised number ("84…") sealed for this dossier; null when it is not a Vietnamese number. */
export function sealPhone(env: ZnsEnv, dossierCode: string, raw: string): string | null {
  const e164 = normalisePhone(raw);
  if (!e164) return null;
  return encryptSecret(parseSecretsKey(env.SECRETS_KEY, env.SECRETS_KEY_PREVIOUS), e164, aad(dossierCode));
}

export function openPhone(env: ZnsEnv, dossierCode: string, sealed: string): string {
  return decryptSecret(parseSecretsKey(env.SECRETS_KEY, env.SECRETS_KEY_PREVIOUS), sealed, aad(dossierCode));
}

/**
 * Keeps the sealed number on a dossier whose invitation is still to be decided (not sent, not
 * skipped, survey neither started nor expired). Returns true when stored.
 */
export async function keepPhoneForZns(dossierCode: string, sealed: string, now: Date): Promise<boolean> {
  const r = await Dossier.updateOne(
    {
      code: dossierCode,
      'invitation.phoneSealed': { $exists: false },
      'invitation.sentAt': null,
      'invitation.skipped': null,
      'survey.responseId': null,
      'survey.expiresAt': { $gt: now },
      'funnel.startedAt': null,
    },
    { $set: { 'invitation.phoneSealed': sealed } },
  );
  return r.modifiedCount === 1;
}

/** Removes the sealed number, if any (idempotent). */
export async function erasePhone(dossierCode: string): Promise<void> {
  await Dossier.updateOne(
    { code: dossierCode, 'invitation.phoneSealed': { $exists: true } },
    { $unset: { 'invitation.phoneSealed': 1 } },
  );
}
