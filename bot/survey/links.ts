import type { Env } from '../../config/env';

export interface SurveyLinks {
  token: string;
  /** Null when TELEGRAM_BOT_USERNAME is neither set nor learned from getMe at start (app/telegram.ts). */
  telegramLink: string | null;
  webLink: string;
  qrPng: string;
  qrSvg: string;
}

function base(publicUrl: string): string {
  return publicUrl.replace(/\/+$/, '');
}

export function webLink(env: Pick<Env, 'PUBLIC_URL'>, token: string): string {
  return `${base(env.PUBLIC_URL)}/s/${token}`;
}

export function telegramLink(env: Pick<Env, 'TELEGRAM_BOT_USERNAME'>, token: string): string | null {
  return env.TELEGRAM_BOT_USERNAME ? `https://t.me/${env.TELEGRAM_BOT_USERNAME}?start=${token}` : null;
}

/**
 * A unit's own survey, without a dossier (posters at a counter, a unit's website): the Telegram
 * start payload `u_<unit code>` and the web chat /s/u/<unit code>. A code outside Telegram's
 * payload alphabet (a `.`) has no Telegram link.
 */
export const UNIT_START_PREFIX = 'u_';
const PAYLOAD_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function unitStartPayload(unitCode: string): string | null {
  const payload = `${UNIT_START_PREFIX}${unitCode}`;
  return PAYLOAD_RE.test(payload) ? payload : null;
}

export function unitTelegramLink(env: Pick<Env, 'TELEGRAM_BOT_USERNAME'>, unitCode: string): string | null {
  const payload = unitStartPayload(unitCode);
  return payload ? telegramLink(env, payload) : null;
}

export function unitWebLink(env: Pick<Env, 'PUBLIC_URL'>, unitCode: string): string {
  return `${base(env.PUBLIC_URL)}/s/u/${encodeURIComponent(unitCode)}`;
}

/** The Official Account's chat (null without ZALO_OA_ID). */
export function zaloOaLink(env: Pick<Env, 'ZALO_OA_ID'>): string | null {
  return env.ZALO_OA_ID ? `https://zalo.me/${env.ZALO_OA_ID}` : null;
}

/** A unit's public results page. */
export function resultsLink(env: Pick<Env, 'PUBLIC_URL'>, unitCode: string): string {
  return `${base(env.PUBLIC_URL)}/ket-qua/${encodeURIComponent(unitCode)}`;
}

/** Everything a receipt or an API answer needs to invite a citizen to one dossier's survey. */
export function surveyLinks(
  env: Pick<Env, 'PUBLIC_URL' | 'TELEGRAM_BOT_USERNAME'>,
  token: string,
): SurveyLinks {
  const web = webLink(env, token);
  return {
    token,
    telegramLink: telegramLink(env, token),
    webLink: web,
    qrPng: `${web}/qr.png`,
    qrSvg: `${web}/qr.svg`,
  };
}
