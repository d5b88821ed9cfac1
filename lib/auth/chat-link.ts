import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { Types } from 'mongoose';
import { User } from '../../models/user';
import { appendAudit } from '../audit/writer';
import { key, type RedisClient } from '../redis';

/**
 * Linking an official's own Telegram or Zalo chat to their account (for a broadcast's test to
 * oneself), proved by possession: the signed-in official asks the API for a one-time code and
 * sends it to the bot from the chat to link (Telegram: the deep link `/start l_<code>`; Zalo:
 * the text `/lienket <code>` to the OA). Nobody can link a chat to someone else's account
 * without that account's session, nor a chat they do not hold.
 *
 * A code is a handle (the Redis key) and a secret (only its SHA-256 is stored, compared in
 * constant time). It lives CHAT_LINK_TTL_S, is used once (the DEL that consumes it decides a
 * race), and a wrong secret burns it, so guessing gets one try per code the official asked for.
 */
export const CHAT_LINK_TTL_S = 600;

// No 0/O, 1/I/L, U: read aloud or retyped from a screen without doubt.
const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789';
const HANDLE_LEN = 5;
const SECRET_LEN = 8;
const CODE_RE = new RegExp(`^[${ALPHABET}]{${HANDLE_LEN + SECRET_LEN}}$`);

export type LinkChannel = 'telegram' | 'zalo';

export interface IssuedLinkCode {
  /** Shown to the official as HANDL-SECRETXX. */
  code: string;
  expiresAt: Date;
}

export type RedeemResult = { ok: true; username: string } | { ok: false };

interface Stored {
  userId: string;
  secretSha256: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function randomCode(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** Upper case, without the spaces and dashes a person adds; null when it cannot be a code. */
export function normaliseLinkCode(raw: string): string | null {
  const s = raw.toUpperCase().replace(/[\s-]/g, '');
  return CODE_RE.test(s) ? s : null;
}

export class ChatLinks {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlS: number = CHAT_LINK_TTL_S,
  ) {}

  private codeKey(handle: string): string {
    return key(this.prefix, 'chatlink', 'code', handle);
  }

  private userKey(userId: string): string {
    return key(this.prefix, 'chatlink', 'user', userId);
  }

  /** A new code for this user; the user's previous unused code stops working. */
  async issue(userId: string, now: Date = new Date()): Promise<IssuedLinkCode> {
    const handle = randomCode(HANDLE_LEN);
    const secret = randomCode(SECRET_LEN);
    const stored: Stored = { userId, secretSha256: sha256(secret).toString('hex') };
    const previous = await this.redis.get(this.userKey(userId));
    if (previous) await this.redis.del(this.codeKey(previous));
    await this.redis.set(this.codeKey(handle), JSON.stringify(stored), 'EX', this.ttlS);
    await this.redis.set(this.userKey(userId), handle, 'EX', this.ttlS);
    return { code: `${handle}-${secret}`, expiresAt: new Date(now.getTime() + this.ttlS * 1000) };
  }

  /**
   * The bot received `raw` from `chatId` on `channel`: links that chat to the code's account
   * when the code is right, unused, unexpired and the account is enabled. Audited either way
   * it succeeds; a failure says nothing about why (unknown, expired, used, wrong).
   */
  async redeem(channel: LinkChannel, chatId: string, raw: string): Promise<RedeemResult> {
    const code = normaliseLinkCode(raw);
    if (!code) return { ok: false };
    const handle = code.slice(0, HANDLE_LEN);
    const json = await this.redis.get(this.codeKey(handle));
    if (!json) return { ok: false };
    const stored = JSON.parse(json) as Stored;
    const match = timingSafeEqual(sha256(code.slice(HANDLE_LEN)), Buffer.from(stored.secretSha256, 'hex'));
    // Consumed whether right or wrong; of two racing right answers only the one that deletes wins.
    const consumed = (await this.redis.del(this.codeKey(handle))) === 1;
    await this.redis.del(this.userKey(stored.userId));
    if (!match || !consumed || !Types.ObjectId.isValid(stored.userId)) return { ok: false };
    const user = await User.findOneAndUpdate(
      { _id: stored.userId, disabledAt: null },
      { $set: { linkedChat: { channel, userId: chatId } } },
      // No projection: FerretDB 1.24's findAndModify does not take one.
      { returnDocument: 'after' },
    ).lean();
    if (!user) return { ok: false };
    await appendAudit({
      actor: user.username,
      action: 'user.chat_linked',
      targetType: 'user',
      targetId: stored.userId,
      // The channel only: a chat id identifies a person.
      details: { channel },
    });
    return { ok: true, username: user.username };
  }
}
