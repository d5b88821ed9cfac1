import { Types } from 'mongoose';
import type { InboundEvent } from '../channels/channel';
import type { Lang } from '../flow/schema';
import type { ConversationDeps } from './deps';
import type { ContactChanges } from './ports';
import type { LiveContact, TurnContext } from './live-store';

export const langOf = (hint: string | undefined): Lang =>
  hint?.toLowerCase().startsWith('en') ? 'en' : 'vi';

/**
 * The contact behind a channel user: cached id and language; created in MongoDB by a job.
 * `created`: MongoDB had no record of this channel user, so it has no session either.
 */
export async function contactFor(
  deps: Pick<ConversationDeps, 'store' | 'background' | 'records'>,
  ev: InboundEvent,
  now: Date,
  pre: TurnContext,
  touchEveryMs: number,
): Promise<{ contact: LiveContact; created: boolean }> {
  const { store, background } = deps;
  let c = pre.contact;
  let touch = pre.touch;
  let created = false;
  if (!c) {
    // A channel user the live store has never seen has no record to read (known-contacts.ts).
    const stored = pre.neverSeen ? null : await deps.records.contactOf(ev.channel, ev.userId);
    c = stored ?? { id: new Types.ObjectId().toHexString(), lang: langOf(ev.langHint) };
    created = !stored;
    // Starts the "last interaction" throttle with the cache, in one round trip; a contact created
    // now has its interaction in its first write, and no session (active-session.ts). Its
    // creation is sent in the same round trip, behind the cache on the same connection: neither
    // waits for the other's answer.
    const [due] = await Promise.all([
      store.setContact(ev.channel, ev.userId, c, {
        touchEveryMs,
        noActive: created && pre.activeId === null,
      }),
      created
        ? background.updateContact({
            contactId: c.id,
            channel: ev.channel,
            userId: ev.userId,
            set: { lang: c.lang, lastInteractionAt: now.toISOString() },
            created: true,
          })
        : undefined,
    ]);
    touch = due && !created;
  }
  if (touch) {
    await background.updateContact({
      contactId: c.id,
      channel: ev.channel,
      userId: ev.userId,
      set: { lastInteractionAt: now.toISOString() },
    });
  }
  return { contact: c, created };
}

/**
 * The platform says this user is gone (blocked the bot, deactivated): unsubscribe the contact,
 * through the same background path that creates it, so the write lands even if the contact's
 * record is still on its way to MongoDB.
 */
export async function markUnreachable(
  deps: Pick<ConversationDeps, 'store' | 'background' | 'records'>,
  channel: InboundEvent['channel'],
  userId: string,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  const cached = await deps.store.getContact(channel, userId);
  const id = cached?.id ?? (await deps.records.contactOf(channel, userId))?.id;
  // Never seen: no record to mark, and nothing can be sent to them.
  if (!id) return;
  await deps.background.updateContact({
    contactId: id,
    channel,
    userId,
    set: { blockedAt: at, unsubscribedAt: at },
  });
}

/** A change of the turn's contact, through the one contact writer (ConversationBackground). */
export function changeContact(
  deps: Pick<ConversationDeps, 'background'>,
  ev: InboundEvent,
  contact: LiveContact,
  set: ContactChanges,
): Promise<void> {
  return deps.background.updateContact({
    contactId: contact.id,
    channel: ev.channel,
    userId: ev.userId,
    set,
  });
}
