import type { Telegram } from 'telegraf';
import { formatDateTime } from '../../../lib/time';
import { Unit } from '../../../models/unit';
import { defaultFlow } from '../../../bot/flow/default-flow';
import { ELEMENT_NAMES_VI } from '../../../indices/formula';
import { caseRefLine, type InlineKeyboard } from './case-buttons';

/** Where case alerts go. Telegram now; Zalo once that channel can post to groups. */
export interface CaseNotifier {
  /** True when the unit has somewhere to send to and the message went out. `keyboard`: the case's buttons. */
  notify(unitCode: string, text: string, opts?: { keyboard?: InlineKeyboard }): Promise<boolean>;
}

/** Reason option labels of the default flow, by option value. */
const REASON_LABELS: ReadonlyMap<string, string> = new Map(
  defaultFlow.nodes.flatMap((n) =>
    'options' in n && n.type === 'multi_choice'
      ? n.options.map((o) => [o.value, o.label.vi] as [string, string])
      : [],
  ),
);

export interface AlertCase {
  caseId: string;
  dossierCode: string | null;
  unitCode: string;
  procedureCode: string | null;
  items: Array<{ element: string; value: number; reasons: string[] }>;
  dueAt: Date;
}

/** The alert: dossier, procedure, elements, scores and reasons. Never a phone number, name or free text. */
export function caseAlertText(c: AlertCase, kind: 'new' | 'escalated' = 'new'): string {
  const head =
    kind === 'new' ? '⚠️ Phản ánh không hài lòng mới' : '⏰ Phản ánh quá hạn chưa xử lý (chuyển cấp trên)';
  const lines = [
    head,
    `Hồ sơ: ${c.dossierCode ?? '(không có mã)'}`,
    `Thủ tục: ${c.procedureCode ?? '(không rõ)'}`,
    `Đơn vị: ${c.unitCode}`,
    ...c.items.map((i) => {
      const reasons = i.reasons.map((r) => REASON_LABELS.get(r) ?? r).join('; ');
      return `• ${ELEMENT_NAMES_VI[i.element] ?? i.element}: ${i.value}/5${reasons ? ` (${reasons})` : ''}`;
    }),
    `Hạn xử lý: ${formatDateTime(c.dueAt)}`,
    // Last: a reply to the alert names its case by this line (case-buttons.ts).
    caseRefLine(c.caseId),
  ];
  return lines.join('\n');
}

/** Sends to the unit's Telegram group or chat (Unit.alertTelegramChatId). */
export function telegramCaseNotifier(telegram: Pick<Telegram, 'sendMessage'>): CaseNotifier {
  return {
    async notify(unitCode, text, opts = {}) {
      const unit = await Unit.findOne({ code: unitCode }, { alertTelegramChatId: 1 }).lean();
      if (!unit?.alertTelegramChatId) return false;
      await telegram.sendMessage(
        unit.alertTelegramChatId,
        text,
        opts.keyboard ? { reply_markup: { inline_keyboard: opts.keyboard } } : {},
      );
      return true;
    },
  };
}
