import type { RedisClient } from '../../../lib/redis';
import type { Update } from 'telegraf/types';
import { localise } from '../../engine/messages';
import type { Lang } from '../../flow/schema';
import {
  decryptSecret,
  encryptSecret,
  resealSecret,
  sealedWithOlderKey,
  type SecretKeyRing,
} from '../../../lib/secret-box';

/**
 * Dead letters: Telegram updates the inbox gave up on after its retry window
 * (TELEGRAM_UPDATE_RETRY_FOR_S), kept so an operator can replay them (`hailong telegram
 * dead-letters`), for TELEGRAM_DEAD_LETTER_TTL_DAYS, then gone.
 *
 * A letter carries no personal data: no names, usernames or phone, and no free text in clear.
 * It keeps what a replay needs: the update and chat ids, the kind of input, a command with its
 * argument when that is a token or a word (`/start <token>`, `/lang en`), a button's data. A
 * typed text is sealed with SECRETS_KEY (AES-256-GCM, lib/secret-box.ts) when
 * that key is configured, else dropped: replayed without it, the citizen is told that the
 * message was lost and asked the current question again (the turn handler does).
 */
export interface DeadLetter {
  v: 1;
  updateId: number;
  chatKey: string;
  /** private, group, supergroup, channel (a group's /baocao is replayed as a group message). */
  chatType: string | null;
  /** The sender's Telegram language code: the language a new contact gets. */
  lang: string | null;
  input: DeadInput;
  /** Class name of the last error (the message may quote data). */
  error: string;
  attempts: number;
  firstFailedAt: number;
  deadAt: number;
}

export type DeadInput =
  | { kind: 'command'; text: string }
  | { kind: 'button'; data: string; messageId: number | null }
  /** `sealed`: the text under SECRETS_KEY; null: dropped (no key configured). */
  | { kind: 'text'; sealed: string | null }
  /** A message without text (sticker, photo), or an update the survey does not read. */
  | { kind: 'other'; type: string };

/** Marks an update rebuilt from a dead letter; Telegram never sends this field. */
export interface ReplayMark {
  hailong_replay?: { textLost?: true };
}
export type ReplayableUpdate = Update & ReplayMark;

export interface FailureInfo {
  error: string;
  attempts: number;
  firstFailedAt: number;
}

// A command argument kept in clear: a survey token or a word (`/start <token>`, `/lang en`).
const TOKEN_LIKE = /^[A-Za-z0-9_-]{1,64}$/;
const COMMAND = /^\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?(?:\s+(\S+))?\s*$/;

function aad(botId: string, updateId: number): string {
  return `tg-dead-letter:${botId}:${updateId}`;
}

type Chat = { id: number; type?: string };
type From = { language_code?: string };
interface Shape {
  message?: { chat: Chat; from?: From; text?: string; message_id: number };
  callback_query?: { from?: From; data?: string; message?: { chat: Chat; message_id: number } };
}

/** The letter of an update, without personal data (see the file's comment). */
export function deadLetterOf(
  update: Update,
  chatKey: string,
  failure: FailureInfo,
  seal: { botId: string; key: SecretKeyRing | null },
  now: number,
): DeadLetter {
  const u = update as unknown as Shape;
  const base = { v: 1 as const, updateId: update.update_id, chatKey, ...failure, deadAt: now };
  if (u.message) {
    const m = u.message;
    const text = m.text?.trim();
    const command = text !== undefined ? COMMAND.exec(text) : null;
    const input: DeadInput =
      text === undefined
        ? { kind: 'other', type: 'message' }
        : command && (command[1] === undefined || TOKEN_LIKE.test(command[1]))
          ? { kind: 'command', text }
          : {
              kind: 'text',
              sealed: seal.key ? encryptSecret(seal.key, m.text!, aad(seal.botId, update.update_id)) : null,
            };
    return { ...base, chatType: m.chat.type ?? null, lang: m.from?.language_code ?? null, input };
  }
  if (u.callback_query) {
    const q = u.callback_query;
    return {
      ...base,
      chatType: q.message?.chat.type ?? 'private',
      lang: q.from?.language_code ?? null,
      input: { kind: 'button', data: q.data ?? '', messageId: q.message?.message_id ?? null },
    };
  }
  const type = Object.keys(update).find((k) => k !== 'update_id') ?? 'unknown';
  return { ...base, chatType: null, lang: null, input: { kind: 'other', type } };
}

/**
 * The update a replay applies: what the letter kept, in the shape the turn handler reads. A
 * sealed text is opened with `key`; without the key (or for a dropped text) the message has no
 * text and is marked `textLost`. Null for an update kind the bot does nothing with.
 */
export function updateFromDeadLetter(
  letter: DeadLetter,
  open: { botId: string; key: SecretKeyRing | null },
): ReplayableUpdate | null {
  const id = Number(letter.chatKey);
  if (!Number.isSafeInteger(id)) return null;
  const chat = {
    id,
    type: letter.chatType ?? 'private',
    ...(letter.chatType === 'private' ? { first_name: '' } : { title: '' }),
  };
  const from = { id, is_bot: false, first_name: '', ...(letter.lang ? { language_code: letter.lang } : {}) };
  const date = Math.floor(letter.firstFailedAt / 1000);
  const message = (text: string | null, mark: ReplayMark['hailong_replay']) =>
    ({
      update_id: letter.updateId,
      message: {
        message_id: 0,
        date,
        chat,
        from,
        ...(text !== null ? { text } : {}),
        ...(text?.startsWith('/')
          ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]!.length }] }
          : {}),
      },
      hailong_replay: mark,
    }) as unknown as ReplayableUpdate;
  const input = letter.input;
  switch (input.kind) {
    case 'command':
      return message(input.text, {});
    case 'text': {
      if (input.sealed && open.key) {
        try {
          return message(decryptSecret(open.key, input.sealed, aad(open.botId, letter.updateId)), {});
        } catch {
          // Another key than the one that sealed it: the text is as good as lost.
        }
      }
      return message(null, { textLost: true });
    }
    case 'button':
      return {
        update_id: letter.updateId,
        callback_query: {
          id: `replay-${letter.updateId}`,
          from,
          chat_instance: '',
          data: input.data,
          ...(input.messageId !== null ? { message: { message_id: input.messageId, date, chat } } : {}),
        },
        hailong_replay: {},
      } as unknown as ReplayableUpdate;
    case 'other':
      return input.type === 'message' ? message(null, {}) : null;
  }
}

const TEXTS = {
  textLost: {
    vi: 'Xin lỗi Ông/Bà: tin nhắn Ông/Bà gửi trước đây chưa được xử lý do sự cố kỹ thuật và không còn được lưu lại. Xin Ông/Bà vui lòng trả lời lại.',
    en: 'We are sorry: a message you sent earlier could not be processed because of a technical problem, and it was not kept. Please answer again.',
  },
} as const;

/** What a replayed text that was not kept tells the citizen, before the current question. */
export function textLostNotice(lang: Lang): string {
  return localise(TEXTS, 'textLost', lang);
}

/**
 * Where letters live: one key per letter with its own expiry, and an index (sorted by the time
 * of death) that expires with the newest letter; members whose letter expired are pruned when
 * the index is read.
 */
export class DeadLetterStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: (...parts: string[]) => string,
  ) {}

  get indexKey(): string {
    return this.key('dead-letters');
  }

  letterKey(updateId: number | string): string {
    return this.key('dead-letter', String(updateId));
  }

  async get(updateId: number): Promise<DeadLetter | null> {
    const raw = await this.redis.get(this.letterKey(updateId));
    return raw ? (JSON.parse(raw) as DeadLetter) : null;
  }

  /** Every letter not yet expired, oldest first. */
  async list(): Promise<DeadLetter[]> {
    const ids = await this.redis.zrange(this.indexKey, '0', '-1');
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.letterKey(id)));
    const gone = ids.filter((_, i) => raws[i] === null);
    if (gone.length > 0) await this.redis.zrem(this.indexKey, ...gone);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeadLetter);
  }

  async count(): Promise<number> {
    return (await this.list()).length;
  }

  /**
   * Re-seals the kept texts under the ring's newest key (`hailong secrets rotate`), each letter
   * keeping its expiry. A text no key of the ring opens is left as it is and counted.
   */
  async reseal(ring: SecretKeyRing, botId: string): Promise<{ resealed: number; unreadable: number }> {
    let resealed = 0;
    let unreadable = 0;
    for (const letter of await this.list()) {
      const input = letter.input;
      if (input.kind !== 'text' || !input.sealed || !sealedWithOlderKey(ring, input.sealed)) continue;
      let sealed: string;
      try {
        sealed = resealSecret(ring, input.sealed, aad(botId, letter.updateId));
      } catch {
        unreadable++;
        continue;
      }
      const next: DeadLetter = { ...letter, input: { ...input, sealed } };
      // XX: a letter that expired meanwhile is not brought back.
      const set = await this.redis.set(
        this.letterKey(letter.updateId),
        JSON.stringify(next),
        'KEEPTTL',
        'XX',
      );
      if (set === 'OK') resealed++;
    }
    return { resealed, unreadable };
  }

  /** Deletes one letter; false when there was none. */
  async drop(updateId: number): Promise<boolean> {
    const [[, deleted]] = (await this.redis
      .multi()
      .del(this.letterKey(updateId))
      .zrem(this.indexKey, String(updateId))
      .exec()) as [[Error | null, number], [Error | null, number]];
    return deleted === 1;
  }
}
