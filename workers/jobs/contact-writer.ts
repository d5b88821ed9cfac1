import { Queue } from 'bullmq';
import type { RedisClient } from '../../lib/redis';
import { Types } from 'mongoose';
import { Contact } from '../../models/contact';
import type { ContactChanges } from '../../bot/conversation/ports';
import type { JobProducer } from '../producer';
import { jobId as makeJobId } from '../job-id';
import { jobOptionsOf } from '../queues';
import { queuesOf } from '../registry';
import { recordOptOut } from '../broadcast/opt-outs';
import { appendContactChange } from './contact-changes';
import { contactUpdate } from './contact-update';

/**
 * The one way to change a contact (blocked, unsubscribed, opted out, consent, language, last
 * seen, phone hash): the change goes into the contact's ordered list (contact-changes.ts), then a
 * `contact.update` job drains that list under the contact's lock (contact-update.ts), which
 * writes MongoDB and the broadcasts' opt-out log. Nothing else writes these fields, so two
 * sources (a reply that found the user gone, a broadcast, a Zalo unfollow) can never apply out
 * of order or lose each other's change.
 */
export interface ContactWrite {
  contactId: string;
  channel: 'telegram' | 'zalo' | 'web';
  userId: string;
  set: ContactChanges;
  /** The contact is new (MongoDB had none): its first write may be an insert. */
  created?: boolean;
}

let seq = 0;

/** `producer`, or a connection and prefix (a channel adapter, a broadcast worker): the same path. */
export async function writeContact(
  via: JobProducer | { redis: RedisClient; prefix: string },
  p: ContactWrite,
): Promise<void> {
  const [redis, prefix] = 'add' in via ? [via.connection, via.prefix] : [via.redis, via.prefix];
  // A withdrawal of consent stops every message at once: broadcasts, invitations and reminders
  // read the opt-out log, which is written here, not only after the job's MongoDB write.
  if (typeof p.set.unsubscribedAt === 'string')
    await recordOptOut(redis, prefix, p.contactId, new Date(p.set.unsubscribedAt));
  // A created contact is marked known with its change, before the record exists: a turn that
  // finds the user unknown then reads MongoDB (known-contacts.ts).
  const appended = appendContactChange(
    redis,
    prefix,
    p.contactId,
    {
      channel: p.channel,
      userId: p.userId,
      set: { ...p.set },
      ...(p.created ? { created: true } : {}),
    },
    { markKnown: p.created === true },
  );
  // The job is sent right behind its change, on the same connection, instead of after the
  // change's answer: Redis runs one connection's commands in the order sent, so the change is
  // stored before the job exists and no worker can drain the list without it, and a turn that
  // changes a contact waits for Redis once, not twice (a new citizen's first turn and the
  // consent turn do; test/integration/turn-round-trips.test.ts). A job whose change failed finds
  // nothing to drain; the caller sees the failure and its turn is retried.
  const payload = { ...p, set: { ...p.set }, queued: true };
  const jobId = makeJobId('ct', p.contactId, Date.now().toString(36), (seq++).toString(36));
  const added = (async () => {
    if ('add' in via) await via.add('contact.update', payload, { jobId });
    else
      await ingestQueueOf(redis, prefix).add(contactUpdate.name, contactUpdate.schema.parse(payload), {
        jobId,
      });
  })();
  await Promise.all([appended, added]);
}

/** What a platform's "this user is gone" marks: blocked is also unsubscribed (nothing proactive). */
export function goneChanges(mark: 'unsubscribed' | 'blocked', at: Date): ContactChanges {
  const iso = at.toISOString();
  return mark === 'blocked' ? { blockedAt: iso, unsubscribedAt: iso } : { unsubscribedAt: iso };
}

// Callers that hold only a connection (channel adapters) add the job on a queue of their own,
// validated as the producer does. Not through JobProducer: it imports the job catalogue, whose
// jobs import this file.
const queues = new WeakMap<RedisClient, Map<string, Queue>>();
function ingestQueueOf(redis: RedisClient, prefix: string): Queue {
  let byPrefix = queues.get(redis);
  if (!byPrefix) queues.set(redis, (byPrefix = new Map<string, Queue>()));
  let q = byPrefix.get(prefix);
  if (!q)
    byPrefix.set(
      prefix,
      (q = new Queue(queuesOf(contactUpdate)[0]!, {
        connection: redis,
        prefix,
        defaultJobOptions: jobOptionsOf(queuesOf(contactUpdate)[0]!),
      })),
    );
  return q;
}

/**
 * `writeContact` for a platform user known only by id (a Zalo webhook event, a send that found
 * the user gone): the contact's id is read, or made for a new one (the write inserts it).
 */
export async function writeContactOf(
  store: { redis: RedisClient; prefix: string },
  channel: 'telegram' | 'zalo',
  userId: string,
  set: ContactChanges,
): Promise<void> {
  const found = await Contact.findOne({ channel, channelUserId: userId }, { _id: 1 }).lean();
  const contactId = found ? String(found._id) : new Types.ObjectId().toHexString();
  await writeContact(store, {
    contactId,
    channel,
    userId,
    set,
    ...(found ? {} : { created: true }),
  });
}
