import type { InlineKeyboardMarkup } from 'telegraf/types';
import { encodeAction } from '../../engine/callback-data';
import type { Choice, Outbound } from '../../engine/types';
import { questionText } from '../question-text';

/** Renders channel-neutral messages as Bot API sendMessage parameters (plain text, no parse_mode). */
export function keyboard(choices: Choice[][]): InlineKeyboardMarkup {
  return {
    inline_keyboard: choices.map((row) =>
      row.map((c) => ({ text: c.label, callback_data: encodeAction(c.action) })),
    ),
  };
}

export interface TelegramMessage {
  text: string;
  reply_markup?: InlineKeyboardMarkup;
}

/**
 * A question's buttons become an inline keyboard: the options of a `choice` or `multi`, the
 * "Bỏ qua" of an optional typed answer. A `text` or `number` question is answered by typing,
 * which a private chat always allows (no reply markup needed).
 */
export function renderOutbound(m: Outbound): TelegramMessage {
  if (m.kind === 'text') return { text: m.text };
  const text = questionText(m);
  return m.choices.length === 0 ? { text } : { text, reply_markup: keyboard(m.choices) };
}
