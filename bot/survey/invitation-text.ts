import type { Lang } from '../flow/schema';
import { localise } from '../engine/messages';

/** What a channel sends to invite or remind: a text and one button that opens the survey. */
export interface InvitationMessage {
  text: string;
  buttonLabel: string;
  /** The channel's own link to the survey (Telegram deep link, web link). */
  url: string;
  /** Template variables (Zalo rating/ZNS templates): ma, donvi, thutuc, link. */
  vars: Record<string, string>;
}

const TEXTS = {
  invite: {
    vi: '{donvi} đã giải quyết xong hồ sơ {ma} của Ông/Bà. Xin Ông/Bà dành khoảng 1 phút đánh giá mức độ hài lòng để chúng tôi phục vụ tốt hơn.',
    en: '{donvi} has finished your dossier {ma}. Please take about one minute to rate the service so we can serve you better.',
  },
  remindNew: {
    vi: 'Nhắc nhẹ: ý kiến của Ông/Bà về hồ sơ {ma} rất quý với {donvi}. Khảo sát chỉ mất khoảng 1 phút.',
    en: 'A gentle reminder: your opinion on dossier {ma} matters to {donvi}. The survey takes about one minute.',
  },
  remindResume: {
    vi: 'Khảo sát về hồ sơ {ma} của Ông/Bà còn dang dở. Bấm nút bên dưới để tiếp tục.',
    en: 'Your survey on dossier {ma} is not finished yet. Tap the button below to continue.',
  },
  start: { vi: 'Bắt đầu đánh giá', en: 'Start the survey' },
  resume: { vi: 'Tiếp tục đánh giá', en: 'Continue the survey' },
} as const;

export function invitationMessage(
  kind: 'invite' | 'remindNew' | 'remindResume',
  lang: Lang,
  vars: { ma: string; donvi: string; thutuc?: string },
  url: string,
): InvitationMessage {
  return {
    text: localise(TEXTS, kind, lang, vars),
    buttonLabel: localise(TEXTS, kind === 'remindResume' ? 'resume' : 'start', lang),
    url,
    vars: { ma: vars.ma, donvi: vars.donvi, thutuc: vars.thutuc ?? '', link: url },
  };
}
