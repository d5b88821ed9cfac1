import { RESOLUTIONS } from '../../../lib/case-resolutions';

/**
 * The buttons of a case alert in the unit's Telegram group and what they carry. callback_data is
 * at most 64 bytes, so a button names the case by its MongoDB id (24 hex digits), not by its
 * case id (which holds a response id of up to 64 characters):
 *   cs:a:<id>          acknowledge                cs:c:<id>   close: show the resolutions
 *   cs:r:<code>:<id>   close with a resolution    cs:o:<id>   close with a free reason (asks for a reply)
 *   cs:b:<id>          back to the alert's buttons
 */
export type CaseButton =
  | { action: 'ack' | 'close' | 'other' | 'back'; id: string }
  | { action: 'resolve'; id: string; resolution: string };

export interface InlineButton {
  text: string;
  callback_data: string;
}
export type InlineKeyboard = InlineButton[][];

export const CASE_CALLBACK_PREFIX = 'cs:';
const SHORT = { ack: 'a', close: 'c', other: 'o', back: 'b' } as const;
const LONG: Record<string, 'ack' | 'close' | 'other' | 'back'> = {
  a: 'ack',
  c: 'close',
  o: 'other',
  b: 'back',
};

export function encodeCaseButton(b: CaseButton): string {
  return b.action === 'resolve' ? `cs:r:${b.resolution}:${b.id}` : `cs:${SHORT[b.action]}:${b.id}`;
}

/** Null for anything that is not a well-formed case button (a forged or foreign payload). */
export function decodeCaseButton(data: string): CaseButton | null {
  const m = /^cs:(?:([acob])|r:([a-z-]{1,20})):([0-9a-f]{24})$/.exec(data);
  if (!m) return null;
  const [, short, resolution, id] = m;
  return resolution ? { action: 'resolve', id: id!, resolution } : { action: LONG[short!]!, id: id! };
}

/** The alert's buttons: acknowledge (until acknowledged) and close. */
export function alertKeyboard(id: string, acknowledged = false): InlineKeyboard {
  return [
    ...(acknowledged
      ? []
      : [[{ text: '✅ Đã tiếp nhận', callback_data: encodeCaseButton({ action: 'ack', id }) }]]),
    [{ text: '✔️ Đóng phiếu', callback_data: encodeCaseButton({ action: 'close', id }) }],
  ];
}

/** Closing: one button per common resolution, a free reason, back. */
export function resolutionKeyboard(id: string): InlineKeyboard {
  return [
    ...RESOLUTIONS.map((r) => [
      { text: r.label.vi, callback_data: encodeCaseButton({ action: 'resolve', id, resolution: r.code }) },
    ]),
    [{ text: '✍️ Lý do khác (trả lời tin nhắn)', callback_data: encodeCaseButton({ action: 'other', id }) }],
    [{ text: '↩️ Quay lại', callback_data: encodeCaseButton({ action: 'back', id }) }],
  ];
}

/**
 * The last line of every message about a case in the group (the alert, the reason prompt): a
 * reply to such a message names its case. Replies to the alert are notes; replies to the reason
 * prompt (which starts with REASON_PROMPT_HEAD) close the case with that reason.
 */
export const CASE_REF = 'Mã phiếu: ';
export const REASON_PROMPT_HEAD = '✍️ Lý do đóng phiếu';

export function caseRefLine(caseId: string): string {
  return `${CASE_REF}${caseId}`;
}

export function caseIdInText(text: string): string | null {
  const m = /^Mã phiếu: (\S+)\s*$/m.exec(text);
  return m ? m[1]! : null;
}

export function reasonPromptText(caseId: string): string {
  return `${REASON_PROMPT_HEAD}: Ông/Bà vui lòng trả lời (reply) tin nhắn này bằng lý do đóng phiếu.\nReply to this message with the reason for closing.\n${caseRefLine(caseId)}`;
}
