import { Types } from 'mongoose';
import { Answer } from '../../models/answer';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import type { Lang } from '../../bot/flow/schema';
import { hcmDay } from '../time';
import { findSubject, type PrivacyDeps, type Subject } from './subject';

/** What is held about a data subject (Law 91/2025/QH15, the right of access), as facts. */
export interface SubjectData {
  contacts: Array<{
    channel: string;
    lang: string;
    createdAt: Date | null;
    consentAt: Date | null;
    consentTextVersion: string | null;
    unsubscribedAt: Date | null;
    hasPhoneHash: boolean;
    unitCodes: string[];
    lastInteractionAt: Date | null;
  }>;
  sessions: Array<{ status: string; dossierCode: string | null; startedAt: Date }>;
  freeTexts: number;
  dossierCodes: string[];
}

export async function subjectData(subject: Subject, deps: PrivacyDeps): Promise<SubjectData> {
  const found = await findSubject(subject, deps);
  const ids = found.contacts.map((c) => new Types.ObjectId(c.id));
  const contacts = ids.length === 0 ? [] : await Contact.find({ _id: { $in: ids } }).lean();
  const sessions =
    ids.length === 0
      ? []
      : await Session.find({ contactId: { $in: ids } }, { status: 1, dossierCode: 1, startedAt: 1 })
          .sort({ startedAt: 1 })
          .lean();
  const responseIds = found.sessions.map((s) => s.responseId);
  const freeTexts =
    responseIds.length === 0
      ? 0
      : await Answer.countDocuments({ responseId: { $in: responseIds }, text: { $ne: null } });
  return {
    contacts: contacts.map((c) => ({
      channel: c.channel,
      lang: c.lang ?? 'vi',
      createdAt: (c as { createdAt?: Date }).createdAt ?? null,
      consentAt: c.consentAt ?? null,
      consentTextVersion: c.consentTextVersion ?? null,
      unsubscribedAt: c.unsubscribedAt ?? null,
      hasPhoneHash: !!c.phoneHash,
      unitCodes: c.unitCodes ?? [],
      lastInteractionAt: c.lastInteractionAt ?? null,
    })),
    sessions: sessions.map((s) => ({
      status: s.status,
      dossierCode: s.dossierCode ?? null,
      startedAt: s.startedAt,
    })),
    freeTexts,
    dossierCodes: found.dossierCodes,
  };
}

const CHANNEL = { telegram: 'Telegram', zalo: 'Zalo', web: 'web chat' } as Record<string, string>;
const STATUS_VI: Record<string, string> = {
  active: 'đang trả lời',
  completed: 'đã hoàn thành',
  declined: 'không đồng ý',
  stopped: 'đã dừng',
  expired: 'hết hạn',
};
const day = (d: Date | null): string => (d ? hcmDay(d) : '—');

/**
 * The summary a citizen reads after /dulieu: Vietnamese first, English below it (or English
 * first for a contact who chose English). Days in Asia/Ho_Chi_Minh. The phone number itself is
 * never held in clear, so it is never shown: only whether its keyed hash is kept.
 */
export function describeSubjectData(data: SubjectData, lang: Lang = 'vi'): string {
  const vi: string[] = [];
  const en: string[] = [];
  if (data.contacts.length === 0 && data.sessions.length === 0 && data.dossierCodes.length === 0) {
    vi.push('Hệ thống hiện không lưu dữ liệu cá nhân nào của Quý ông/bà.');
    en.push('We hold no personal data about you.');
  } else {
    vi.push('Dữ liệu hệ thống đang lưu về Quý ông/bà (theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15):');
    en.push('What we hold about you (Personal Data Protection Law No. 91/2025/QH15):');
    for (const c of data.contacts) {
      const ch = CHANNEL[c.channel] ?? c.channel;
      vi.push(
        `• Tài khoản ${ch}: mã người dùng của kênh, ngôn ngữ ${c.lang === 'en' ? 'tiếng Anh' : 'tiếng Việt'}, ` +
          `lần tương tác gần nhất ${day(c.lastInteractionAt)}; đồng ý tham gia ngày ${day(c.consentAt)}` +
          `${c.unsubscribedAt ? `, đã huỷ nhận tin ngày ${day(c.unsubscribedAt)}` : ''}` +
          `${c.hasPhoneHash ? '; số điện thoại (chỉ lưu dạng mã băm, không lưu số)' : ''}` +
          `${c.unitCodes.length > 0 ? `; đơn vị đã giải quyết hồ sơ: ${c.unitCodes.join(', ')}` : ''}.`,
      );
      en.push(
        `• ${ch} account: the channel's user id, language ${c.lang}, last interaction ${day(c.lastInteractionAt)}; ` +
          `consent given ${day(c.consentAt)}${c.unsubscribedAt ? `, unsubscribed ${day(c.unsubscribedAt)}` : ''}` +
          `${c.hasPhoneHash ? '; phone number (as a keyed hash only, never the number)' : ''}` +
          `${c.unitCodes.length > 0 ? `; units of your dossiers: ${c.unitCodes.join(', ')}` : ''}.`,
      );
    }
    if (data.sessions.length > 0) {
      const list = data.sessions.map(
        (s) => `${s.dossierCode ?? '—'} (${day(s.startedAt)}, ${STATUS_VI[s.status] ?? s.status})`,
      );
      vi.push(`• Các lượt khảo sát gắn với Quý ông/bà: ${list.join('; ')}.`);
      en.push(
        `• Surveys linked to you: ${data.sessions.map((s) => `${s.dossierCode ?? '—'} (${day(s.startedAt)}, ${s.status})`).join('; ')}.`,
      );
    }
    if (data.freeTexts > 0) {
      vi.push(`• Ý kiến viết tay (lý do khác, góp ý): ${data.freeTexts}.`);
      en.push(`• Written comments (other reasons, suggestions): ${data.freeTexts}.`);
    }
    if (data.dossierCodes.length > 0) {
      vi.push(`• Hồ sơ có số điện thoại hoặc tài khoản của Quý ông/bà: ${data.dossierCodes.join(', ')}.`);
      en.push(`• Dossiers carrying your phone number or account: ${data.dossierCodes.join(', ')}.`);
    }
    vi.push(
      'Gửi /xoa để yêu cầu xóa các dữ liệu này; điểm đánh giá đã gửi được giữ lại nhưng không còn gắn với Quý ông/bà.',
    );
    en.push('Send /xoa to have this erased; the ratings you gave are kept, no longer linked to you.');
  }
  const [first, second] = lang === 'en' ? [en, vi] : [vi, en];
  return `${first.join('\n')}\n\n${second.join('\n')}`;
}
