import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import type { UpdateInbox } from './update-inbox';

export interface Poller {
  stop(): Promise<void>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Long polling (getUpdates) for deployments without a public URL. Only one process polls at a
 * time (a Redis lock; the others wait to take over); every update goes through the same
 * UpdateInbox as webhooks, so ordering and de-duplication are the same.
 */
export function startPolling(opts: {
  telegram: Telegram;
  inbox: UpdateInbox;
  redis: Redis;
  prefix: string;
  onAccepted: (chatKey: string) => void;
  log: Logger;
  timeoutS?: number;
  lockMs?: number;
}): Poller {
  const { telegram, inbox, redis, prefix, log } = opts;
  const lockKey = `${prefix}:tg:poller`;
  const offsetKey = `${prefix}:tg:offset`;
  const lockMs = opts.lockMs ?? 60_000;
  const token = randomBytes(12).toString('hex');
  const abort = new AbortController();
  let stopped = false;

  const loop = async () => {
    await telegram.deleteWebhook();
    while (!stopped) {
      const got = await redis.set(lockKey, token, 'PX', lockMs, 'NX').catch(() => null);
      const mine = got === 'OK' || (await redis.get(lockKey).catch(() => null)) === token;
      if (!mine) {
        await sleep(Math.min(lockMs / 2, 5_000), undefined, { signal: abort.signal }).catch(() => undefined);
        continue;
      }
      try {
        await redis.eval(RENEW, 1, lockKey, token, String(lockMs));
        const offset = Number((await redis.get(offsetKey)) ?? 0);
        const updates = (await telegram.callApi(
          'getUpdates',
          { offset, timeout: opts.timeoutS ?? 25, limit: 100 },
          { signal: abort.signal as never },
        )) as Update[];
        for (const u of updates) {
          const accepted = await inbox.accept(u);
          if (accepted) opts.onAccepted(accepted.chatKey);
          await redis.set(offsetKey, String(u.update_id + 1));
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err: (err as Error).message }, 'getUpdates failed');
        await sleep(1_000, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  };
  const running = loop().catch((err: Error) => log.error({ err: err.message }, 'polling stopped'));

  return {
    async stop() {
      stopped = true;
      abort.abort();
      await running;
      await redis.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
    },
  };
}
