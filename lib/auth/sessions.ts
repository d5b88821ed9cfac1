import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UserRole } from '../../models/user';
import { key, type RedisClient } from '../redis';

/** What a session remembers of its account (all of it is refreshed by a new sign-in). */
export interface SessionUser {
  id: string;
  username: string;
  role: UserRole;
  unitCodes: string[];
}

export interface LoginSession {
  /** A short, non-secret id for logs and the audit log (the start of the token's hash). */
  id: string;
  user: SessionUser;
  /** Sent back in `x-csrf-token` on every state-changing request made with this session. */
  csrfToken: string;
  createdAt: Date;
}

export interface SessionTimes {
  /** Ends after this long without a request... */
  idleMs: number;
  /** ...and this long after sign-in, however active. */
  maxMs: number;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
/** `<user id>.<32 random bytes>`: the user id lets one MULTI read the session and the generation. */
const TOKEN_RE = /^([a-f0-9]{24})\.[A-Za-z0-9_-]{43}$/;

/**
 * Officials' sessions in Redis under the prefix. The cookie holds a random token; Redis holds
 * only its SHA-256, so a copy of Redis opens no session. A session expires after the idle time
 * (its TTL, renewed by each request) and at the absolute limit (checked against its start on
 * each request).
 *
 * Ending every session of a user (password change or reset, disabling, a new role or units)
 * increments the user's generation: each request reads its session and the generation in one
 * MULTI, and a session of an older generation is refused from the next request on, with no
 * MongoDB read per request. The account fields a request needs travel in the session, which is
 * why any change to them ends the sessions. Redis must run with `noeviction` (BullMQ requires it
 * too): an evicted generation would revive older sessions.
 */
export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly times: SessionTimes,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private sessionKey(hash: string): string {
    return key(this.prefix, 'auth', 'sess', hash);
  }

  private genKey(userId: string): string {
    return key(this.prefix, 'auth', 'gen', userId);
  }

  /**
   * The user's current generation. A sign-in reads it BEFORE it reads the account from
   * MongoDB: a change that lands after that read increments it after, so the new session is
   * already stale.
   */
  async generation(userId: string): Promise<string> {
    return (await this.redis.get(this.genKey(userId))) ?? '0';
  }

  /** Starts a session at `generation` (from generation(), read before the account). Returns the cookie token. */
  async create(user: SessionUser, generation: string): Promise<{ token: string; session: LoginSession }> {
    const token = `${user.id}.${randomBytes(32).toString('base64url')}`;
    const hash = digest(token);
    const createdAt = this.now();
    const csrfToken = randomBytes(32).toString('base64url');
    await this.redis
      .multi()
      .hset(this.sessionKey(hash), {
        uid: user.id,
        username: user.username,
        role: user.role,
        units: JSON.stringify(user.unitCodes),
        gen: generation,
        csrf: csrfToken,
        created: String(createdAt.getTime()),
      })
      .pexpire(this.sessionKey(hash), Math.min(this.times.idleMs, this.times.maxMs))
      .exec();
    return { token, session: { id: hash.slice(0, 16), user, csrfToken, createdAt } };
  }

  /** The live session of a cookie token, its idle time renewed; null when unknown, expired or ended. */
  async resolve(token: string): Promise<LoginSession | null> {
    const m = TOKEN_RE.exec(token);
    if (!m?.[1]) return null;
    const hash = digest(token);
    const sk = this.sessionKey(hash);
    // One round trip: the idle time is renewed with the read; the absolute limit is checked below.
    const results = await this.redis
      .multi()
      .hgetall(sk)
      .get(this.genKey(m[1]))
      .pexpire(sk, Math.min(this.times.idleMs, this.times.maxMs))
      .exec();
    const fields = (results?.[0]?.[1] ?? {}) as Record<string, string>;
    const currentGen = (results?.[1]?.[1] as string | null | undefined) ?? '0';
    if (fields.uid !== m[1] || !fields.created) return null;
    const createdAt = new Date(Number(fields.created));
    const left = createdAt.getTime() + this.times.maxMs - this.now().getTime();
    if (fields.gen !== currentGen || left <= 0) {
      await this.redis.del(sk);
      return null;
    }
    return {
      id: hash.slice(0, 16),
      user: {
        id: fields.uid,
        username: fields.username ?? '',
        role: fields.role as UserRole,
        unitCodes: JSON.parse(fields.units ?? '[]') as string[],
      },
      csrfToken: fields.csrf ?? '',
      createdAt,
    };
  }

  /** Ends one session (sign-out). */
  async destroy(token: string): Promise<void> {
    if (TOKEN_RE.test(token)) await this.redis.del(this.sessionKey(digest(token)));
  }

  /** Ends every session of a user, at once: call it AFTER the account change is stored. */
  async endAll(userId: string): Promise<void> {
    await this.redis.incr(this.genKey(userId));
  }
}

/** Constant-time comparison of the CSRF header with the session's token. */
export function csrfMatches(session: LoginSession, header: string | undefined): boolean {
  if (!header || !session.csrfToken) return false;
  const a = Buffer.from(header, 'utf8');
  const b = Buffer.from(session.csrfToken, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
