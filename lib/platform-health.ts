import { ZaloToken } from '../models/zalo-token';
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

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

/** One platform as the operators' detail and the admins' API tell it: configured here, last success anywhere. */
export function platformLine(configured: boolean, lastSuccessMs: number | null | undefined, now: number) {
  return {
    configured,
    lastSuccessAt: iso(lastSuccessMs),
    lastSuccessAgoS: lastSuccessMs ? Math.round((now - lastSuccessMs) / 1000) : null,
  };
}

/**
 * The Zalo OA token of the app: whether the OA is connected, the access token's expiry and
 * whether its refresh failed. Times and flags only, never a token. null: no Zalo app configured;
 * `known: false` without `connected`: MongoDB did not answer.
 */
export async function zaloTokenState(appId: string | undefined, now: number) {
  if (!appId) return null;
  const doc = await ZaloToken.findOne({ appId }, { expiresAt: 1, failedAt: 1, refreshedAt: 1 })
    .lean()
    .catch(() => undefined);
  if (doc === undefined) return { known: false };
  if (!doc) return { known: true, connected: false };
  const expiresAt = doc.expiresAt.getTime();
  return {
    known: true,
    connected: true,
    expiresAt: iso(expiresAt),
    expiresInS: Math.round((expiresAt - now) / 1000),
    refreshedAt: iso(doc.refreshedAt?.getTime()),
    refreshFailed: doc.failedAt !== null && doc.failedAt !== undefined,
  };
}
