import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../../lib/redis';

/**
 * The channel users MongoDB may hold a contact for, as a Bloom filter in one Redis bitmap (2 MiB,
 * bounded whatever the number of contacts): a turn from a channel user the filter has never seen
 * is a new citizen's, so it needs no MongoDB read to learn that (on a loaded database that read
 * queued behind the workers' writes and made the first turn the slow one). A false "maybe seen"
 * (about 1 in 100 at 1.7 million contacts, more beyond) only costs the read as before.
 *
 * The filter is trusted only when it is complete: bit 0 is set once every contact MongoDB held
 * was added (`backfillKnownContacts`, at start). Every path that creates a contact marks it
 * before the record is written: the conversation (LiveStore.setContact) and the one contact
 * writer (workers/jobs/contact-writer.ts). The dossier import links contacts of chats that already
 * talked to the bot, so marked ones. Bit 0 lives in the same key: if Redis loses or evicts the
 * filter, it is incomplete again and turns read MongoDB until the next backfill.
 */
const BITS = 2 ** 24;
const HASHES = 7;

export const knownContactsKey = (prefix: string): string => `${prefix}:conv:known`;

/** The filter's bit offsets of a channel user (never 0, the "complete" bit). */
export function knownContactBits(channel: string, userId: string): number[] {
  const h = createHash('sha256').update(`${channel}:${userId}`).digest();
  return Array.from({ length: HASHES }, (_, i) => (h.readUIntBE(i * 3, 3) % (BITS - 1)) + 1);
}

/**
 * Queues the marking of a channel user on a pipeline or a transaction the caller sends anyway,
 * so marking costs no round trip of its own (a new citizen's first turn waits for each one).
 */
export function queueKnownContactMark(
  batch: ChainableCommander,
  prefix: string,
  channel: string,
  userId: string,
): ChainableCommander {
  const key = knownContactsKey(prefix);
  for (const bit of knownContactBits(channel, userId)) batch.setbit(key, bit, 1);
  return batch;
}

/** Adds a channel user to the filter (before its contact is written). */
export async function markKnownContact(
  redis: RedisClient,
  prefix: string,
  channel: string,
  userId: string,
): Promise<void> {
  await queueKnownContactMark(redis.pipeline(), prefix, channel, userId).exec();
}

/**
 * Adds every contact MongoDB holds, then declares the filter complete; nothing when it already
 * is. Contacts created meanwhile are marked by their creators. `stopped`: shutdown began.
 */
export async function backfillKnownContacts(
  redis: RedisClient,
  prefix: string,
  contacts: AsyncIterable<{ channel: string; userId: string }>,
  stopped: () => boolean = () => false,
): Promise<'complete' | 'filled' | 'stopped'> {
  const key = knownContactsKey(prefix);
  if ((await redis.getbit(key, 0)) === 1) return 'complete';
  let p = redis.pipeline();
  let n = 0;
  for await (const c of contacts) {
    if (stopped()) return 'stopped';
    for (const bit of knownContactBits(c.channel, c.userId)) p.setbit(key, bit, 1);
    if (++n % 500 === 0) {
      await p.exec();
      p = redis.pipeline();
    }
  }
  p.setbit(key, 0, 1);
  await p.exec();
  return 'filled';
}
