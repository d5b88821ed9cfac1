import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { queueKnownContactMark } from '../../bot/conversation/known-contacts';
import { key, type RedisClient } from '../../lib/redis';

/**
 * A contact's pending changes, in order of arrival, in Redis. Contact changes come from turns
 * (consent, language, /stop, /start again, blocked) and must reach MongoDB in that order, one
 * writer per contact: two jobs writing one contact at once can apply out of order (a /start's
 * "unsubscribed: null" after the /stop that followed it), and FerretDB even loses one of two
 * concurrent updates of a document (it rewrites the whole document without a lock).
 *
 * So a change is appended here first, then a job is added; every job drains the whole list
 * under the contact's lock (applying the changes merged, in order) and removes only what it
 * applied. A change whose own job finds it already applied costs nothing; a crash after the
 * write and before the trim re-applies the same values (idempotent).
 */
const LIST_TTL_S = 7 * 24 * 3600;

export interface ContactChange {
  channel: 'telegram' | 'zalo' | 'web';
  userId: string;
  set: Record<string, unknown>;
  /** The conversation created the contact (MongoDB had none): the write may insert it. */
  created?: boolean;
  /** Units the contact now belongs to (it answered a survey for one of their dossiers); added, never removed. */
  addUnitCodes?: string[];
}

const listKey = (prefix: string, contactId: string): string => key(prefix, 'ct', 'chg', contactId);
/** The contact's pending changes (an erasure deletes them: privacy/erase.ts). */
export const contactChangesKey = listKey;
const lockKey = (prefix: string, contactId: string): string => key(prefix, 'ct', 'lock', contactId);

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Appends a change to the contact's list. `markKnown`: the change creates the contact, so its
 * channel user is marked in the known-contacts filter in the same transaction, before any job
 * can write the record (bot/conversation/known-contacts.ts).
 */
export async function appendContactChange(
  redis: RedisClient,
  prefix: string,
  contactId: string,
  change: ContactChange,
  opts: { markKnown?: boolean } = {},
): Promise<void> {
  const k = listKey(prefix, contactId);
  const tx = redis.multi();
  if (opts.markKnown) queueKnownContactMark(tx, prefix, change.channel, change.userId);
  const replies = await tx.rpush(k, JSON.stringify(change)).expire(k, LIST_TTL_S).exec();
  const failed = replies?.find(([err]) => err)?.[0];
  if (failed) throw failed;
}

export class ContactBusyError extends Error {
  constructor(readonly contactId: string) {
    super(`contact ${contactId} is being written by another job`);
    this.name = 'ContactBusyError';
  }
}

/**
 * Applies the contact's pending changes under its lock. `write` gets them merged (a later change
 * of a field wins; units added are the union of all) with the channel user of the latest,
 * `created` if any of them created it. Waits up to `waitMs` for the lock, then throws
 * ContactBusyError (the job is retried; its change is still in the list).
 */
export async function drainContactChanges(
  redis: RedisClient,
  prefix: string,
  contactId: string,
  write: (merged: ContactChange) => Promise<void>,
  opts: { waitMs?: number; lockMs?: number } = {},
): Promise<number> {
  const token = randomBytes(9).toString('hex');
  const lock = lockKey(prefix, contactId);
  const until = Date.now() + (opts.waitMs ?? 10_000);
  while ((await redis.set(lock, token, 'PX', opts.lockMs ?? 30_000, 'NX')) !== 'OK') {
    if (Date.now() > until) throw new ContactBusyError(contactId);
    await sleep(20);
  }
  try {
    let applied = 0;
    for (;;) {
      const raw = await redis.lrange(listKey(prefix, contactId), 0, 99);
      if (raw.length === 0) return applied;
      const changes = raw.map((r) => JSON.parse(r) as ContactChange);
      const last = changes[changes.length - 1];
      const units = [...new Set(changes.flatMap((c) => c.addUnitCodes ?? []))];
      await write({
        channel: last.channel,
        userId: last.userId,
        set: Object.assign({}, ...changes.map((c) => c.set)) as Record<string, unknown>,
        ...(changes.some((c) => c.created === true) ? { created: true } : {}),
        ...(units.length > 0 ? { addUnitCodes: units } : {}),
      });
      await redis.ltrim(listKey(prefix, contactId), raw.length, -1);
      applied += raw.length;
    }
  } finally {
    await redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
  }
}
