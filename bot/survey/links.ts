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
