import type { RedisClient } from '../../../lib/redis';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import type { UpdateInbox } from './update-inbox';

export interface Poller {
  /** Ends polling promptly: aborts the in-flight getUpdates and releases the poller lock. */
  stop(): Promise<void>;
}

export interface PollingOptions {
  telegram: Telegram;
  inbox: Pick<UpdateInbox, 'accept'>;
  redis: RedisClient;
  prefix: string;
  onAccepted: (chatKey: string) => void;
  log: Logger;
  /** getUpdates long-poll timeout, seconds (default 25). */
  timeoutS?: number;
  /** Poller lock lifetime without renewal, ms (default 60 s; a crashed poller is replaced after it). */
  lockMs?: number;
  /** Pause after a failed getUpdates, ms (default 1 s). */
  errorDelayMs?: number;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Long polling (getUpdates) for deployments without a public URL. Only one process polls at a
 * time (Telegram answers 409 to a second poller): a Redis lock, renewed while held; the others
 * wait to take over. The offset lives in Redis so a successor continues where the last one
 * stopped. Every update goes through the same UpdateInbox as webhooks, so ordering and
 * de-duplication are the same.
 */
export function startPolling(opts: PollingOptions): Poller {
  const { telegram, inbox, redis, prefix, log } = opts;
  const lockKey = `${prefix}:tg:poller`;
  const offsetKey = `${prefix}:tg:offset`;
  const lockMs = opts.lockMs ?? 60_000;
  const timeoutS = opts.timeoutS ?? 25;
  const errorDelayMs = opts.errorDelayMs ?? 1_000;
  const token = randomBytes(12).toString('hex');
  const abort = new AbortController();
  let stopped = false;
  let holding = false;
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  const renewal = setInterval(
    () => {
      if (!holding) return;
      redis
        .eval(RENEW, 1, lockKey, token, String(lockMs))
        .then((r) => {
          if (r !== 1) holding = false;
        })
        .catch(() => undefined);
    },
    Math.max(20, Math.floor(lockMs / 3)),
  );

  const acquire = async (): Promise<boolean> => {
    if (holding) {
      holding = (await redis.eval(RENEW, 1, lockKey, token, String(lockMs))) === 1;
      return holding;
    }
    holding = (await redis.set(lockKey, token, 'PX', lockMs, 'NX')) === 'OK';
    if (holding) log.info('telegram poller: this process polls');
    return holding;
  };

  const loop = async () => {
    let webhookDeleted = false;
    while (!stopped) {
      try {
        if (!(await acquire())) {
          await pause(Math.min(lockMs / 2, 5_000));
          continue;
        }
        // A webhook left set makes getUpdates answer 409; drop it once (keeping pending updates).
        if (!webhookDeleted) {
          await telegram.deleteWebhook({ drop_pending_updates: false });
          webhookDeleted = true;
        }
        const offset = Number((await redis.get(offsetKey)) ?? 0);
        const updates: Update[] = await telegram.callApi(
          'getUpdates',
          { offset, timeout: timeoutS, limit: 100 },
          // telegraf types its own AbortSignal shim; the platform's is what node-fetch takes.
          { signal: abort.signal as never },
        );
        for (const u of updates) {
          if (stopped) break;
          const accepted = await inbox.accept(u);
          if (accepted) opts.onAccepted(accepted.chatKey);
          // Stored first, then the offset moves: a crash in between re-reads it, accept dedupes it.
          await redis.set(offsetKey, String(u.update_id + 1));
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, 'telegram polling failed: retrying');
        await pause(errorDelayMs);
      }
    }
  };
  const running = loop().catch((err: Error) => log.error({ err: err.message }, 'telegram polling stopped'));

  return {
    async stop() {
      stopped = true;
      abort.abort();
      clearInterval(renewal);
      await running;
      if (holding) await redis.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
      holding = false;
    },
  };
}
