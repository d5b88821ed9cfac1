import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';

export type UpdateHandler = (update: Update) => Promise<void>;

export interface UpdateInboxOptions {
  /** How long a chat's drain lock lives without renewal (a crashed drainer frees it after this). */
  lockMs?: number;
  /** How long an update_id is remembered for de-duplication (Telegram keeps updates 24 h). */
  dedupeTtlS?: number;
  /** Attempts of a failing handler before the update is dead-lettered. */
  maxAttempts?: number;
  retryBaseMs?: number;
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
// drainer holds the lock, else the head (an empty array when the queue is empty).
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return redis.call('ZRANGE', KEYS[2], 0, 0)
end
return false`;
// After an update was applied: removes it (whoever owns the lock now: it was applied), then,
// if the lock is still ours, extends it and returns the next head; nil when the lock was lost
// (a stalled process whose lock expired must not apply alongside the new owner).
const NEXT = `
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return redis.call('ZRANGE', KEYS[2], 0, 0)
end
return false`;
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
 * The handler is given at construction because the sweeper needs it; `drain(chatKey, handler)`
 * may pass another for one drain.
 */
export class UpdateInbox {
  private readonly lockMs: number;
  private readonly dedupeTtlS: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping = false;
  private stopped = false;
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly botId: string,
    private readonly handler: UpdateHandler,
    private readonly log: Logger,
    opts: UpdateInboxOptions = {},
  ) {
    this.lockMs = opts.lockMs ?? 30_000;
    this.dedupeTtlS = opts.dedupeTtlS ?? 24 * 3600;
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.retryBaseMs = opts.retryBaseMs ?? 200;
  }

  private k(...parts: string[]): string {
    return [this.prefix, 'tg', this.botId, ...parts].join(':');
  }

  get deadLetterKey(): string {
    return this.k('dead');
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
   * re-checks the queue after releasing, so nothing is stranded.
   */
  async drain(chatKey: string, handler: UpdateHandler = this.handler): Promise<void> {
    const lockKey = this.k('lock', chatKey);
    const queueKey = this.k('chat', chatKey);
    for (;;) {
      // randomUUID draws from a cached pool of entropy; randomBytes(12) made an OpenSSL call per
      // drain (2% of the bot process's CPU in the saturation benchmark).
      const token = randomUUID();
      const first = (await this.redis.eval(ACQUIRE, 2, lockKey, queueKey, token, String(this.lockMs))) as string[] | null;
      if (first === null) return;
      const renew = setInterval(
        () => {
          void this.redis.eval(RENEW, 1, lockKey, token, String(this.lockMs)).catch(() => undefined);
        },
        Math.max(20, Math.floor(this.lockMs / 3)),
      );
      let more = 0;
      try {
        let raw = first[0];
        while (raw !== undefined) {
          if (this.stopped) return;
          await this.apply(chatKey, raw, handler);
          // Removed only after the handler resolved: a crash before this line replays the update.
          const next = (await this.redis.eval(NEXT, 2, lockKey, queueKey, token, String(this.lockMs), raw)) as string[] | null;
          if (next === null) {
            this.log.warn({ chatKey }, 'drain lock lost: leaving the chat to its new owner');
            return;
          }
          raw = next[0];
        }
      } finally {
        clearInterval(renew);
        // An update accepted between our last read and the release would otherwise wait for the sweeper.
        more = ((await this.redis
          .eval(RELEASE_SETTLE, 3, lockKey, queueKey, this.k('pending'), token, chatKey)
          .catch(() => 1)) as number);
      }
      if (more === 0 || this.stopped) return;
    }
  }

  private async apply(chatKey: string, raw: string, handler: UpdateHandler): Promise<void> {
    const update = JSON.parse(raw) as Update;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(update);
        return;
      } catch (err) {
        if (attempt >= this.maxAttempts) {
          await this.redis.lpush(
            this.deadLetterKey,
            JSON.stringify({
              chatKey,
              updateId: update.update_id,
              error: (err as Error).name,
              at: Date.now(),
              update: raw,
            }),
          );
          this.log.error(
            { chatKey, updateId: update.update_id, err: (err as Error).message },
            'update dead-lettered after repeated failures',
          );
          return;
        }
        this.log.warn(
          { chatKey, updateId: update.update_id, attempt, err: (err as Error).message },
          'update handler failed: retrying',
        );
        await sleep(this.retryBaseMs * 2 ** (attempt - 1));
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
    await Promise.allSettled([...this.active]);
  }
}
