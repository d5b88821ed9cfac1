import type { Redis } from 'ioredis';

/** As long as a turn's kept reply (bot/conversation/live-store.ts): a retry may come until then. */
const SENT_MARK_TTL_S = 3 * 24 * 3600;

/**
 * How many of a turn's reply messages reached Telegram, per (chat, update_id), written when a
 * send fails: the retry of the update gets the turn's kept reply (ConversationService) and sends
 * from there, so nothing is sent zero times and, short of a crash between a send and its mark,
 * nothing twice. Nothing is written while sends succeed.
 */
export class SentMarks {
  constructor(
    private readonly redis: Redis,
    /** `{hl}:tg:<bot>` */
    private readonly keyPrefix: string,
  ) {}

  private key(chatId: string, updateId: number): string {
    return `${this.keyPrefix}:sent:${chatId}:${updateId}`;
  }

  async get(chatId: string, updateId: number): Promise<number> {
    return Number((await this.redis.get(this.key(chatId, updateId))) ?? 0);
  }

  async set(chatId: string, updateId: number, sent: number): Promise<void> {
    await this.redis.set(this.key(chatId, updateId), String(sent), 'EX', SENT_MARK_TTL_S);
  }
}
