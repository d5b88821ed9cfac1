import type { Logger } from './logger';
import { lastPlatformSuccess, type PlatformName } from './metrics';
import { key, type RedisClient } from './redis';

const PLATFORMS: readonly PlatformName[] = ['telegram', 'zalo'];

/** Keeps the later of the stored and the given time: processes publish in any order. */
const KEEP_LATER = `local cur = tonumber(redis.call('hget', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;

const hashKey = (prefix: string) => key(prefix, 'obs', 'platform-ok');

/**
 * Copies this process's last successful platform call (lib/metrics.ts) to Redis, so the health
 * detail of any HTTP process tells when any process last reached Telegram or Zalo. One write per
 * platform per interval, not one per call: the hot path only sets a number in memory.
 */
export async function publishPlatformSuccess(
  redis: RedisClient,
  prefix: string,
  last: ReadonlyMap<PlatformName, number> = lastPlatformSuccess(),
): Promise<void> {
  for (const [platform, at] of last) await redis.eval(KEEP_LATER, 1, hashKey(prefix), platform, String(at));
}

/** The last successful call per platform, any process (epoch ms; null: none seen). */
export async function readPlatformSuccess(
  redis: RedisClient,
  prefix: string,
): Promise<Record<PlatformName, number | null>> {
  const values = await redis.hmget(hashKey(prefix), ...PLATFORMS);
  return Object.fromEntries(PLATFORMS.map((p, i) => [p, values[i] ? Number(values[i]) : null])) as Record<
    PlatformName,
    number | null
  >;
}

/** Publishes every `intervalMs` (and once at stop, so a drained process leaves its last word). */
export function startPlatformHealthPublisher(opts: {
  redis: RedisClient;
  prefix: string;
  intervalMs: number;
  log: Logger;
}): { stop(): Promise<void> } {
  const publish = () =>
    publishPlatformSuccess(opts.redis, opts.prefix).catch((err: Error) =>
      opts.log.warn({ err: err.message }, 'platform health not published'),
    );
  const timer = setInterval(() => void publish(), opts.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await publish();
    },
  };
}
