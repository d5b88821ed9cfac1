import type { RedisClient } from '../../../lib/redis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import { updatesDeadLettered, updatesProcessed } from '../../../lib/metrics';
import { DeadLetterStore, deadLetterOf, updateFromDeadLetter } from './dead-letters';
import type { SecretKeyRing } from '../../../lib/secret-box';

export type UpdateHandler = (update: Update) => Promise<void>;

export interface UpdateInboxOptions {
  /** How long a chat's drain lock lives without renewal (a crashed drainer frees it after this). */
  lockMs?: number;
  /** How long an update_id is remembered for de-duplication (Telegram keeps updates 24 h). */
  dedupeTtlS?: number;
  /**
   * How long a failing update is retried, from its first failure, before it becomes a dead
   * letter (TELEGRAM_UPDATE_RETRY_FOR_S). Our webhook has answered 200, so Telegram will not
   * resend it: the inbox retries as Telegram would have (backoff up to a minute, for minutes).
   */
  retryForMs?: number;
  /** First retry delay; doubled per attempt up to `retryMaxDelayMs`. */
  retryBaseMs?: number;
  retryMaxDelayMs?: number;
  /** How long a dead letter is kept (TELEGRAM_DEAD_LETTER_TTL_DAYS). */
  deadLetterTtlS?: number;
  /** SECRETS_KEY: seals a dead letter's typed text; without it the text is dropped. */
  secretsKey?: SecretKeyRing | null;
}

// Marks the update seen and stores it in its chat's queue in one step: a crash can never leave
// an update "seen" but not stored.
const ACCEPT = `
if redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  return 1
end
return 0`;
// Takes the chat's drain lock and reads the head of its queue in one step: nil when another
// drainer holds the lock, the milliseconds left when the head failed and waits for its retry
// time (KEYS[3], the chat's retry state: update id `u`, not before `at`), else the head (an empty
// array when the queue is empty).
const ACQUIRE = `
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if head[1] then
  local r = redis.call('HMGET', KEYS[3], 'u', 'at')
  if r[1] == head[2] and r[2] and tonumber(r[2]) > tonumber(ARGV[3]) then
    return tonumber(r[2]) - tonumber(ARGV[3])
  end
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {head[1]} end
return false`;
// After an update was applied: removes it and its retry state (whoever owns the lock now: it was
// applied), then, if the lock is still ours, extends it and returns the next head; nil when the
// lock was lost (a stalled process whose lock expired must not apply alongside the new owner).
const NEXT = `
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
if redis.call('HGET', KEYS[3], 'u') == ARGV[4] then redis.call('DEL', KEYS[3]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return redis.call('ZRANGE', KEYS[2], 0, 0)
end
return false`;
// A failed update within its retry window: records its retry state (it stays at the head, so
// the chat's later updates wait behind it) and frees the chat's lock, if the lock is still ours.
const RETRY_LATER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'u', ARGV[2], 'n', ARGV[3], 'first', ARGV[4], 'at', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('DEL', KEYS[1])
return 1`;
// A failed update past its retry window: out of the queue and into a dead letter that expires,
// with the index of letters; then, as NEXT, the chat's next head if the lock is still ours.
const DEAD_LETTER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[4])
redis.call('EXPIRE', KEYS[5], ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZRANGE', KEYS[2], 0, 0)`;
// An operator's replay: the rebuilt update back at its place in the chat's queue (by update_id,
// bypassing the "seen" mark its first delivery left) and its letter gone, in one step.
const REPLAY = `
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
// Releases the lock (if still ours) and forgets the chat as pending only when its queue is
// empty, atomically with the check; 1 means updates arrived meanwhile: drain again.
const RELEASE_SETTLE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) return 0 end
return 1`;

/** The chat an update belongs to; updates of one chat are applied one at a time, in order. */
export function chatKeyOf(update: Update): string | null {
  const u = update as unknown as Partial<
    Record<string, { chat?: { id: number }; message?: { chat?: { id: number } }; from?: { id: number } }>
  >;
  const m =
    u.message ??
    u.edited_message ??
    u.channel_post ??
    u.my_chat_member ??
    u.chat_member ??
    u.chat_join_request;
  if (m?.chat) return String(m.chat.id);
  const cq = u.callback_query;
  if (cq) return String(cq.message?.chat?.id ?? cq.from?.id);
  return null;
}

/**
 * Durable, de-duplicated, per-chat ordered intake of Telegram updates, shared by every bot
 * process through Redis. `accept` is what a webhook request (or the poller) does before it
 * answers; `drain` applies a chat's updates in update_id order under a per-chat lock, removing
 * each only after its handler succeeded (at-least-once; the handler is idempotent by update_id).
 * `startSweeper` drains chats that a crashed process left behind.
 *
 * Order is update_id order among the updates stored when a drain reads the chat's queue.
 * Telegram sends a chat's next update only after the previous one was acknowledged, and the
 * webhook acknowledges only after `accept` stored it, so a chat's updates are stored in order;
 * the races that remain (a retry racing its original, two processes draining) are settled by
 * the update_id de-duplication and the per-chat lock.
 *
 * A failing update (MongoDB down, Telegram unreachable) stays at the head of its chat's queue
 * with a retry time, and the chat's lock is freed: the chat's later updates wait behind it,
 * other chats go on, and whichever process drains the chat next (a timer of this one, a
 * webhook's kick, any process's sweeper) retries it when its time comes, with backoff doubling
 * up to `retryMaxDelayMs`, for `retryForMs` after its first failure. Then it becomes a dead
 * letter (./dead-letters.ts) that expires, and the chat goes on.
 *
 * The handler is given at construction because the sweeper needs it; `drain(chatKey, handler)`
 * may pass another for one drain.
 */
export class UpdateInbox {
  private readonly lockMs: number;
  private readonly dedupeTtlS: number;
  private readonly retryForMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly deadLetterTtlS: number;
  private readonly secretsKey: SecretKeyRing | null;
  readonly deadLetters: DeadLetterStore;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping = false;
  private stopped = false;
  private readonly active = new Set<Promise<void>>();
  /** A drain due later for chats whose head waits for its retry time, at most one per chat. */
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly botId: string,
    private readonly handler: UpdateHandler,
    private readonly log: Logger,
    opts: UpdateInboxOptions = {},
  ) {
    this.lockMs = opts.lockMs ?? 30_000;
    this.dedupeTtlS = opts.dedupeTtlS ?? 24 * 3600;
    this.retryForMs = opts.retryForMs ?? 30 * 60_000;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? 60_000;
    this.deadLetterTtlS = opts.deadLetterTtlS ?? 14 * 24 * 3600;
    this.secretsKey = opts.secretsKey ?? null;
    this.deadLetters = new DeadLetterStore(redis, (...parts) => this.k(...parts));
  }

  private k(...parts: string[]): string {
    return [this.prefix, 'tg', this.botId, ...parts].join(':');
  }

  /**
   * Stores an update unless its update_id was seen (webhook retries, double deliveries).
   * Returns its chat key, or false for a duplicate. Updates without a chat get a key of their own.
   */
  async accept(update: Update): Promise<{ chatKey: string } | false> {
    const chatKey = chatKeyOf(update) ?? `u${update.update_id}`;
    const stored = (await this.redis.eval(
      ACCEPT,
      3,
      this.k('seen', String(update.update_id)),
      this.k('chat', chatKey),
      this.k('pending'),
      String(this.dedupeTtlS),
      String(update.update_id),
      JSON.stringify(update),
      chatKey,
    )) as number;
    if (stored !== 1) updatesProcessed.inc({ channel: 'telegram', outcome: 'duplicate' });
    return stored === 1 ? { chatKey } : false;
  }

  /** Drains a chat now, in the background; errors are logged, the sweeper retries later. */
  kick(chatKey: string): void {
    if (this.stopped) return;
    const p = this.drain(chatKey)
      .catch((err: Error) => this.log.error({ chatKey, err: err.message }, 'drain failed'))
      .finally(() => this.active.delete(p));
    this.active.add(p);
  }

  /**
   * Applies a chat's queued updates in update_id order with `handler` (default: the inbox's).
   * Returns at once when another drainer (this process or another) holds the chat: that one
   * re-checks the queue after releasing, so nothing is stranded; and when the chat's head waits
   * for its retry time, after arranging a drain for then.
   */
  async drain(chatKey: string, handler: UpdateHandler = this.handler): Promise<void> {
    const lockKey = this.k('lock', chatKey);
    const queueKey = this.k('chat', chatKey);
    const retryKey = this.k('retry', chatKey);
    for (;;) {
      // randomUUID draws from a cached pool of entropy, where randomBytes(12) made an OpenSSL
      // call per drain, on the bot's hottest path.
      const token = randomUUID();
      const first = (await this.redis.eval(
        ACQUIRE,
        3,
        lockKey,
        queueKey,
        retryKey,
        token,
        String(this.lockMs),
        String(Date.now()),
      )) as string[] | number | null;
      if (first === null) return;
      if (typeof first === 'number') {
        this.drainIn(chatKey, first);
        return;
      }
      const renew = setInterval(
        () => {
          void this.redis.eval(RENEW, 1, lockKey, token, String(this.lockMs)).catch(() => undefined);
        },
        Math.max(20, Math.floor(this.lockMs / 3)),
      );
      let more = 0;
      let retryInMs: number | null = null;
      try {
        let raw = first[0];
        while (raw !== undefined) {
          if (this.stopped) return;
          const next = await this.applyHead(chatKey, raw, handler, token);
          if (typeof next === 'number') {
            retryInMs = next;
            return;
          }
          if (next === null) {
            this.log.warn({ chatKey }, 'drain lock lost: leaving the chat to its new owner');
            return;
          }
          raw = next[0];
        }
      } finally {
        clearInterval(renew);
        // An update accepted between our last read and the release would otherwise wait for the sweeper.
        more = (await this.redis
          .eval(RELEASE_SETTLE, 3, lockKey, queueKey, this.k('pending'), token, chatKey)
          .catch(() => 1)) as number;
        if (retryInMs !== null) this.drainIn(chatKey, retryInMs);
      }
      if (more === 0 || this.stopped) return;
    }
  }

  /**
   * Runs the handler on the chat's head. Applied: removed from the queue (only now: a crash
   * before this replays it), and the next head is returned. Failed: see `failed`.
   */
  private async applyHead(
    chatKey: string,
    raw: string,
    handler: UpdateHandler,
    token: string,
  ): Promise<string[] | number | null> {
    const update = JSON.parse(raw) as Update;
    try {
      await handler(update);
    } catch (err) {
      return this.failed(chatKey, raw, update, err as Error, token);
    }
    updatesProcessed.inc({ channel: 'telegram', outcome: 'applied' });
    return this.markApplied(chatKey, raw, update.update_id, token);
  }

  /**
   * Records an applied head (NEXT). Its replies have gone out and nothing records that they did
   * (SentMarks is written on a failed send only), so a head left in the queue would be applied
   * again and its replies sent twice. A Redis that does not answer (a restart, a failover) is
   * therefore waited for, for as long as the chat's lock lives, before giving up; the lock's
   * renewal runs meanwhile. Past that the update is replayed: at least once, as after a crash.
   */
  private async markApplied(
    chatKey: string,
    raw: string,
    updateId: number,
    token: string,
  ): Promise<string[] | null> {
    const giveUpAt = Date.now() + this.lockMs;
    for (let delay = 100; ; delay = Math.min(2000, delay * 2)) {
      try {
        return (await this.redis.eval(
          NEXT,
          3,
          this.k('lock', chatKey),
          this.k('chat', chatKey),
          this.k('retry', chatKey),
          token,
          String(this.lockMs),
          raw,
          String(updateId),
        )) as string[] | null;
      } catch (err) {
        if (Date.now() + delay >= giveUpAt) throw err;
        this.log.warn(
          { chatKey, updateId, err: (err as Error).message },
          'applied update not recorded yet: retrying',
        );
        await sleep(delay);
      }
    }
  }

  /**
   * A failed head within its retry window: its retry time is recorded and the milliseconds to
   * wait are returned. Past the window: it becomes a dead letter and the next head is returned.
   * Null when the lock was lost meanwhile.
   */
  private async failed(
    chatKey: string,
    raw: string,
    update: Update,
    err: Error,
    token: string,
  ): Promise<string[] | number | null> {
    const retryKey = this.k('retry', chatKey);
    const now = Date.now();
    const [u, n, first] = await this.redis.hmget(retryKey, 'u', 'n', 'first');
    const same = u === String(update.update_id);
    const attempts = (same ? Number(n) : 0) + 1;
    const firstFailedAt = same ? Number(first) : now;
    const ids = { chatKey, updateId: update.update_id, attempt: attempts };
    if (now - firstFailedAt < this.retryForMs) {
      const delay = Math.min(this.retryMaxDelayMs, this.retryBaseMs * 2 ** (attempts - 1));
      const kept = (await this.redis.eval(
        RETRY_LATER,
        2,
        this.k('lock', chatKey),
        retryKey,
        token,
        String(update.update_id),
        String(attempts),
        String(firstFailedAt),
        String(now + delay),
        String(this.retryForMs + 3600_000),
      )) as number;
      updatesProcessed.inc({ channel: 'telegram', outcome: 'retried' });
      this.log.warn({ ...ids, retryInMs: delay, err: err.message }, 'update handler failed: retrying later');
      return kept === 1 ? delay : null;
    }
    const letter = deadLetterOf(
      update,
      chatKey,
      { error: err.name, attempts, firstFailedAt },
      { botId: this.botId, key: this.secretsKey },
      now,
    );
    const next = (await this.redis.eval(
      DEAD_LETTER,
      5,
      this.k('lock', chatKey),
      this.k('chat', chatKey),
      retryKey,
      this.deadLetters.letterKey(update.update_id),
      this.deadLetters.indexKey,
      token,
      String(this.lockMs),
      raw,
      String(update.update_id),
      JSON.stringify(letter),
      String(this.deadLetterTtlS),
      String(now),
    )) as string[] | null;
    if (next !== null) {
      updatesDeadLettered.inc({ channel: 'telegram' });
      updatesProcessed.inc({ channel: 'telegram', outcome: 'dead_lettered' });
      this.log.error(
        { ...ids, err: err.message, failingForS: Math.round((now - firstFailedAt) / 1000) },
        'update dead-lettered after its retry window',
      );
    }
    return next;
  }

  /** Drains the chat after `ms` (once per chat however often asked; the sweeper is the backstop). */
  private drainIn(chatKey: string, ms: number): void {
    if (this.stopped || this.retryTimers.has(chatKey)) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(chatKey);
      this.kick(chatKey);
    }, ms);
    timer.unref();
    this.retryTimers.set(chatKey, timer);
  }

  /**
   * Puts a dead letter's update back at its place in its chat's queue; a running bot process
   * applies it (its sweeper, within seconds). `open`: SECRETS_KEY, to restore a sealed text.
   * False when there is no such letter (expired, dropped, replayed already) or it cannot be
   * replayed (an update kind the bot does nothing with: its letter is left for `drop`).
   */
  async replayDeadLetter(updateId: number, open: SecretKeyRing | null = this.secretsKey): Promise<boolean> {
    const letter = await this.deadLetters.get(updateId);
    if (!letter) return false;
    const update = updateFromDeadLetter(letter, { botId: this.botId, key: open });
    if (!update) return false;
    const done = (await this.redis.eval(
      REPLAY,
      4,
      this.k('chat', letter.chatKey),
      this.k('pending'),
      this.deadLetters.letterKey(updateId),
      this.deadLetters.indexKey,
      String(updateId),
      JSON.stringify(update),
      letter.chatKey,
    )) as number;
    if (done === 1) this.log.info({ chatKey: letter.chatKey, updateId }, 'dead letter replayed');
    return done === 1;
  }

  /**
   * Dead letters from before they expired: a list (`tg:<bot>:dead`) of raw updates, names and
   * texts included, kept forever. Each becomes a letter of today's kind (expiring, no personal
   * data) and the list is deleted. Returns how many were converted.
   */
  async adoptLegacyDeadLetters(): Promise<number> {
    const legacyKey = this.k('dead');
    let n = 0;
    for (;;) {
      const raw = await this.redis.rpop(legacyKey);
      if (raw === null) return n;
      let old: { chatKey?: string; updateId?: number; error?: string; at?: number; update?: string };
      try {
        old = JSON.parse(raw) as typeof old;
        const update = JSON.parse(old.update ?? 'null') as Update | null;
        if (!update || typeof old.chatKey !== 'string') continue;
        const at = typeof old.at === 'number' ? old.at : Date.now();
        const letter = deadLetterOf(
          update,
          old.chatKey,
          { error: old.error ?? 'Error', attempts: 0, firstFailedAt: at },
          { botId: this.botId, key: this.secretsKey },
          at,
        );
        await this.redis
          .multi()
          .set(
            this.deadLetters.letterKey(update.update_id),
            JSON.stringify(letter),
            'EX',
            this.deadLetterTtlS,
          )
          .zadd(this.deadLetters.indexKey, at, String(update.update_id))
          .expire(this.deadLetters.indexKey, this.deadLetterTtlS)
          .exec();
        n++;
      } catch {
        // Not a letter this code wrote: nothing to keep.
      }
    }
  }

  /** Chats with queued updates (including ones a crashed process left). */
  async pendingChats(): Promise<string[]> {
    return this.redis.smembers(this.k('pending'));
  }

  /** Periodically drains pending chats whose lock is free: recovery after a process crash. */
  startSweeper(intervalMs = 5_000): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => void this.sweep(), intervalMs);
    this.sweeper.unref();
    void this.adoptLegacyDeadLetters()
      .then((n) => {
        if (n > 0) this.log.info({ n }, 'legacy dead letters converted (no personal data, expiring)');
      })
      .catch((err: Error) => this.log.warn({ err: err.message }, 'legacy dead letters not converted'));
  }

  async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      for (const chatKey of await this.pendingChats()) this.kick(chatKey);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** Stops taking work and waits for drains in progress to finish their current update. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await Promise.allSettled([...this.active]);
  }
}
