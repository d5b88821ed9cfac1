import type { InboundEvent } from '../channels/channel';

/**
 * The words a citizen may type to steer the survey, on every channel (Telegram, Zalo, web chat).
 * A command is one row: its slash names (`/stop`, also `/stop@bot` on Telegram) and the words
 * typed without a slash, in Vietnamese with and without diacritics and in English. To add a
 * command, add a row; `parseCommand` and the channels pick it up.
 *
 * Words match exactly after normalising (NFC, case, spaces), never by folding diacritics away:
 * "đúng" (yes) must not read as "dừng" (stop). For the same reason a bare "dung" is not a stop
 * word: it is also "đúng" typed without diacritics, and stopping unsubscribes the citizen.
 */
export type CommandInput = Exclude<InboundEvent['input'], { kind: 'text' } | { kind: 'action' }>;

export interface CommandRow {
  /** Slash names without the slash, lower case. */
  slash: readonly string[];
  /** Typed words and phrases, lower case NFC, single spaces. */
  words: readonly string[];
  /** What the command becomes; `arg` is the text after a slash name, trimmed, or undefined. */
  input: (arg: string | undefined) => CommandInput;
}

/** What confirms an erasure after `/xoa`: an explicit word, never a bare yes to another question. */
const ERASE_CONFIRM = new Set(['dongy', 'dong y', 'đồng ý', 'xacnhan', 'xac nhan', 'xác nhận', 'yes']);

/**
 * The start payload of an official's chat-link code (`/start l_<code>`, lib/auth/chat-link.ts):
 * survey tokens and a unit's `u_` payload never begin with it. bot/conversation/chat-link.ts
 * takes such a start before the survey sees it.
 */
export const LINK_START_PREFIX = 'l_';

export const COMMANDS = {
  start: {
    slash: ['start'],
    words: ['start', 'bắt đầu', 'bat dau'],
    // A deep-link token keeps its case: tokens are case-sensitive.
    input: (arg) => ({ kind: 'start', ...(arg ? { token: arg } : {}) }),
  },
  stop: {
    slash: ['stop'],
    words: [
      'stop',
      'dừng',
      'dừng lại',
      'dung lai',
      'huỷ',
      'hủy',
      'huy',
      'huỷ đăng ký',
      'hủy đăng ký',
      'huy dang ky',
    ],
    input: () => ({ kind: 'command', name: 'stop' }),
  },
  help: {
    slash: ['help'],
    words: ['help', '?', 'trợ giúp', 'tro giup', 'hướng dẫn', 'huong dan'],
    input: () => ({ kind: 'command', name: 'help' }),
  },
  lang: {
    slash: ['lang'],
    words: [],
    input: (arg) => ({ kind: 'command', name: 'lang', ...(arg ? { arg: arg.toLowerCase() } : {}) }),
  },
  english: {
    slash: [],
    words: ['english'],
    input: () => ({ kind: 'command', name: 'lang', arg: 'en' }),
  },
  vietnamese: {
    slash: [],
    words: ['tiếng việt', 'tieng viet'],
    input: () => ({ kind: 'command', name: 'lang', arg: 'vi' }),
  },
  /** What is held about me (Law 91/2025/QH15, the right of access): privacy/access.ts. */
  data: {
    slash: ['dulieu'],
    words: ['dữ liệu của tôi', 'du lieu cua toi', 'my data'],
    input: () => ({ kind: 'privacy', request: 'access' }),
  },
  /** Erase me: asks first; "/xoa dongy" confirms (privacy/erase.ts). */
  erase: {
    slash: ['xoa'],
    words: ['xóa dữ liệu', 'xoá dữ liệu', 'xoa du lieu', 'delete my data'],
    input: (arg) => ({
      kind: 'privacy',
      request: 'erase',
      confirmed: arg !== undefined && ERASE_CONFIRM.has(normaliseTyped(arg).toLowerCase()),
    }),
  },
  /** An official links this chat to their account (Zalo has no deep link: they type it). */
  link: {
    slash: ['lienket'],
    words: [],
    input: (arg) => ({ kind: 'start', token: `${LINK_START_PREFIX}${arg ?? ''}` }),
  },
} as const satisfies Record<string, CommandRow>;

export type CommandName = keyof typeof COMMANDS;

const ROWS: readonly CommandRow[] = Object.values(COMMANDS);
const BY_WORD = new Map(ROWS.flatMap((row) => row.words.map((w) => [w, row] as const)));
const BY_SLASH = new Map(ROWS.flatMap((row) => row.slash.map((s) => [s, row] as const)));

/** NFC, trimmed, inner spaces collapsed: how typed text is compared and kept. */
export function normaliseTyped(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ');
}

// `/name`, `/name@somebot` (Telegram adds the bot's username in menus), then an optional argument.
const SLASH = /^\/([a-z]+)(?:@[a-z0-9_]+)?(?:\s+(.*))?$/is;

/**
 * The command a typed text is, or null when it is an answer. An unknown slash command gets the
 * help (the citizen meant a command and should learn the real ones), never a recorded answer.
 */
export function parseCommand(text: string): CommandInput | null {
  const s = normaliseTyped(text);
  const word = BY_WORD.get(s.toLowerCase());
  if (word) return word.input(undefined);
  const slash = SLASH.exec(s);
  if (!slash) return null;
  const arg = slash[2]?.trim() || undefined;
  return (BY_SLASH.get(slash[1]!.toLowerCase()) ?? COMMANDS.help).input(arg);
}

/** A command named by a channel's own control (the web chat's buttons), without typed words. */
export function commandByName(name: string): CommandInput | null {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName].input(undefined) : null;
}
