import { key, type RedisClient } from '../../lib/redis';

/**
 * The opt-out log: contacts that unsubscribed or were found unreachable, with when (a Redis
 * sorted set, score = ms since the epoch). Every path that sets a contact's `unsubscribedAt`
 * records it here after its MongoDB write; a re-subscription removes it. The broadcast claim
 * script reads it (delivery-store.ts), so someone who sends /stop while a broadcast is going out
 * gets nothing more from it, from their next claim on.
 *
 * Why not re-read MongoDB: the fan-out already leaves out whoever is unsubscribed when it
 * starts; only later opt-outs matter, and finding them in MongoDB was a query every few seconds
 * per worker process over every contact (its `$or` on `blockedAt` had no index: a collection
 * scan on MongoDB, and a full decode of the collection on FerretDB, which took a third of a core
 * during a 20,000-recipient broadcast). Same lifetime as the broadcast state it guards: both
 * live in Redis.
 */
export const optOutKey = (prefix: string): string => key(prefix, 'optouts');

/** Entries older than this are dropped at the next write: longer than any broadcast is sent. */
export const OPT_OUT_KEEP_MS = 8 * 24 * 3600_000;

/**
 * A broadcast skips recipients who opted out from this instant on: an hour before it was
 * created, because a /stop reaches MongoDB through a job and may land after the fan-out read it.
 */
export const optOutsCountFrom = (broadcastCreatedAt: Date): number => broadcastCreatedAt.getTime() - 3600_000;

export async function recordOptOut(
  redis: RedisClient,
  prefix: string,
  contactId: string,
  at: Date,
): Promise<void> {
  const k = optOutKey(prefix);
  await redis.zadd(k, at.getTime(), contactId);
  await redis.zremrangebyscore(k, '-inf', `(${at.getTime() - OPT_OUT_KEEP_MS}`);
}

/** Which of `contactIds` are on the log: opted out, their MongoDB record perhaps not yet written. */
export async function optedOut(
  redis: RedisClient,
  prefix: string,
  contactIds: readonly string[],
): Promise<Set<string>> {
  if (contactIds.length === 0) return new Set();
  const scores = await redis.zmscore(optOutKey(prefix), ...contactIds);
  return new Set(contactIds.filter((_, i) => scores[i] !== null));
}

/** The contact asked to hear from us again (/start, Zalo follow). */
export async function clearOptOut(redis: RedisClient, prefix: string, contactId: string): Promise<void> {
  await redis.zrem(optOutKey(prefix), contactId);
}
