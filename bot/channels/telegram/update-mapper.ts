import type { Update } from 'telegraf/types';
import { decodeAction } from '../../engine/callback-data';
import { COMMANDS, parseCommand } from '../../conversation/commands';
import type { InboundEvent } from '../channel';

/**
 * Maps a Telegram update to the channel-neutral InboundEvent. Returns null for updates the
 * survey has nothing to say to (edited messages, member changes, other bots' traffic) and for
 * non-private chats (unit groups have their own handler: toGroupUpdate, group-commands.ts).
 */
export function toInboundEvent(update: Update): InboundEvent | null {
  if ('callback_query' in update) {
    const q = update.callback_query;
    // A button in a group is a unit group's (case alerts), never a survey answer.
    if (q.message && q.message.chat.type !== 'private') return null;
    const chatId = q.message?.chat.id ?? q.from.id;
    const data = 'data' in q ? q.data : undefined;
    // The unsubscribe button every broadcast carries (workers/broadcast/render.ts STOP_CALLBACK).
    if (data === 'stop')
      return {
        channel: 'telegram',
        userId: String(chatId),
        updateId: update.update_id,
        input: COMMANDS.stop.input(),
      };
    const action = data ? decodeAction(data) : null;
    return {
      channel: 'telegram',
      userId: String(chatId),
      updateId: update.update_id,
      ...(q.from.language_code ? { langHint: q.from.language_code } : {}),
      // An undecodable button (an old bot version, a forged payload) is answered as stale.
      input: action
        ? { kind: 'action', action }
        : { kind: 'action', action: { kind: 'done', step: 0, node: 'x' } },
    };
  }
  if ('message' in update) {
    const m = update.message;
    if (m.chat.type !== 'private') return null;
    const base = {
      channel: 'telegram' as const,
      userId: String(m.chat.id),
      updateId: update.update_id,
      ...(m.from?.language_code ? { langHint: m.from.language_code } : {}),
    };
    if (!('text' in m)) {
      // Stickers, photos, voice: answered with a re-ask by the engine, never silence.
      return { ...base, input: { kind: 'text', text: '' } };
    }
    const text = m.text.trim();
    const command = parseCommand(text);
    if (command) return { ...base, input: command };
    return { ...base, input: { kind: 'text', text } };
  }
  return null;
}

/** The callback query id of an update, if it is a button press (it must always be answered). */
export function callbackQueryOf(
  update: Update,
): { id: string; chatId: number | null; messageId: number | null } | null {
  if (!('callback_query' in update)) return null;
  const q = update.callback_query;
  return { id: q.id, chatId: q.message?.chat.id ?? null, messageId: q.message?.message_id ?? null };
}

/**
 * What unit groups send the bot (group-commands.ts), apart from the citizens' survey:
 * - a command: `/baocao` (the unit's report) or `/ketnoi CODE` (connect the group to a unit),
 *   `/cmd@<bot>` too, never a command addressed to another bot (when our username is known);
 * - a button press on a message in the group (case alerts);
 * - a text reply to one of our messages (a note on a case, a reason for closing it).
 * `fromId`: the Telegram user who sent it (an official's id in case logs; never their name).
 */
export type GroupUpdate =
  | { kind: 'command'; chatId: string; fromId: number | null; name: 'baocao' | 'ketnoi'; arg?: string }
  | { kind: 'button'; chatId: string; fromId: number; callbackId: string; messageId: number; data: string }
  | { kind: 'reply'; chatId: string; fromId: number; text: string; repliedText: string };

const isGroup = (type: string): boolean => type === 'group' || type === 'supergroup';

/** Null for anything else: private chats, ordinary group talk, other bots' commands. */
export function toGroupUpdate(
  update: Update,
  opts: { botUsername?: string; botId?: number } = {},
): GroupUpdate | null {
  if ('callback_query' in update) {
    const q = update.callback_query;
    if (!q.message || !isGroup(q.message.chat.type)) return null;
    const data = 'data' in q ? q.data : '';
    return {
      kind: 'button',
      chatId: String(q.message.chat.id),
      fromId: q.from.id,
      callbackId: q.id,
      messageId: q.message.message_id,
      data,
    };
  }
  if (!('message' in update)) return null;
  const m = update.message;
  if (!isGroup(m.chat.type) || !('text' in m)) return null;
  const c = /^\/(baocao|ketnoi)(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$/is.exec(m.text.trim());
  if (c) {
    const [, name, to, arg] = c;
    if (to && opts.botUsername && to.toLowerCase() !== opts.botUsername.toLowerCase()) return null;
    const argument = arg?.trim().toLowerCase();
    return {
      kind: 'command',
      chatId: String(m.chat.id),
      fromId: m.from?.id ?? null,
      name: name!.toLowerCase() as 'baocao' | 'ketnoi',
      ...(argument ? { arg: argument } : {}),
    };
  }
  const replied = m.reply_to_message;
  if (opts.botId !== undefined && m.from && replied?.from?.id === opts.botId && 'text' in replied)
    return {
      kind: 'reply',
      chatId: String(m.chat.id),
      fromId: m.from.id,
      text: m.text,
      repliedText: replied.text,
    };
  return null;
}
