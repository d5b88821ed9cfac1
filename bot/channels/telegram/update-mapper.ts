import type { Update } from 'telegraf/types';
import { decodeAction } from '../../engine/callback-data';
import type { InboundEvent } from '../channel';

/**
 * Maps a Telegram update to the channel-neutral InboundEvent. Returns null for updates the
 * survey has nothing to say to (edited messages, member changes, other bots' traffic) and for
 * non-private chats (unit groups use their own commands: toGroupCommand, group-commands.ts).
 */
export function toInboundEvent(update: Update): InboundEvent | null {
  if ('callback_query' in update) {
    const q = update.callback_query;
    const chatId = q.message?.chat.id ?? q.from.id;
    const data = 'data' in q ? q.data : undefined;
    // The unsubscribe button every broadcast carries (workers/broadcast/render.ts STOP_CALLBACK).
    if (data === 'stop') return { channel: 'telegram', userId: String(chatId), updateId: update.update_id, input: { kind: 'command', name: 'stop' } };
    const action = data ? decodeAction(data) : null;
    return {
      channel: 'telegram',
      userId: String(chatId),
      updateId: update.update_id,
      ...(q.from.language_code ? { langHint: q.from.language_code } : {}),
      // An undecodable button (an old bot version, a forged payload) is answered as stale.
      input: action ? { kind: 'action', action } : { kind: 'action', action: { kind: 'done', step: 0, node: 'x' } },
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
    const command = /^\/([a-z]+)(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$/s.exec(text);
    if (command) {
      const [, name, arg] = command;
      const argument = arg?.trim();
      switch (name) {
        case 'start':
          return { ...base, input: { kind: 'start', ...(argument ? { token: argument } : {}) } };
        case 'help':
        case 'stop':
          return { ...base, input: { kind: 'command', name } };
        case 'lang':
          return { ...base, input: { kind: 'command', name: 'lang', ...(argument ? { arg: argument.toLowerCase() } : {}) } };
        default:
          return { ...base, input: { kind: 'command', name: 'help' } };
      }
    }
    return { ...base, input: { kind: 'text', text } };
  }
  return null;
}

/** The callback query id of an update, if it is a button press (it must always be answered). */
export function callbackQueryOf(update: Update): { id: string; chatId: number | null; messageId: number | null } | null {
  if (!('callback_query' in update)) return null;
  const q = update.callback_query;
  return { id: q.id, chatId: q.message?.chat.id ?? null, messageId: q.message?.message_id ?? null };
}

/** A command sent in a group or supergroup (unit groups): only `/baocao` for now. */
export interface GroupCommand {
  chatId: string;
  name: 'baocao';
  arg?: string;
}

/**
 * `/baocao` or `/baocao@<bot>` (with an optional argument) in a group or supergroup. Null for
 * anything else, and for a command addressed to another bot (`@<other>`, when our username is
 * known).
 */
export function toGroupCommand(update: Update, botUsername?: string): GroupCommand | null {
  if (!('message' in update)) return null;
  const m = update.message;
  if ((m.chat.type !== 'group' && m.chat.type !== 'supergroup') || !('text' in m)) return null;
  const c = /^\/baocao(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$/is.exec(m.text.trim());
  if (!c) return null;
  const [, to, arg] = c;
  if (to && botUsername && to.toLowerCase() !== botUsername.toLowerCase()) return null;
  const argument = arg?.trim().toLowerCase();
  return { chatId: String(m.chat.id), name: 'baocao', ...(argument ? { arg: argument } : {}) };
}
