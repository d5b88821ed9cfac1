import type { InlineKeyboardMarkup } from 'telegraf/types';
import { encodeAction } from '../../engine/callback-data';
import type { Choice, Outbound } from '../../engine/types';

/** Renders channel-neutral messages as Bot API sendMessage parameters (plain text, no parse_mode). */
export function keyboard(choices: Choice[][]): InlineKeyboardMarkup {
  return { inline_keyboard: choices.map((row) => row.map((c) => ({ text: c.label, callback_data: encodeAction(c.action) }))) };
}

export interface TelegramMessage {
  text: string;
  reply_markup?: InlineKeyboardMarkup;
}

export function renderOutbound(m: Outbound): TelegramMessage {
  if (m.kind === 'text' || m.choices.length === 0) return { text: m.text };
  return { text: m.text, reply_markup: keyboard(m.choices) };
}
