import type { RedisClient } from '../../../lib/redis';
import { Contact } from '../../../models/contact';
import { recordOptOut } from '../../../workers/broadcast/opt-outs';

/**
 * Marks a Zalo contact that cannot or does not want to receive: unsubscribed (unfollowed, -213)
 * or blocked (-227 banned/inactive, -244 restricted our messages). Invitations skip both; a
 * broadcast going out skips the contact from its next delivery on (the opt-out log).
 */
export async function markZaloContact(
  store: { redis: RedisClient; prefix: string },
  userId: string,
  mark: 'unsubscribed' | 'blocked',
  at: Date,
): Promise<void> {
  const field = mark === 'blocked' ? 'blockedAt' : 'unsubscribedAt';
  const c = await Contact.findOneAndUpdate(
    { channel: 'zalo', channelUserId: userId },
    { $set: { [field]: at } },
    { upsert: true, returnDocument: 'after', lean: true },
  );
  if (c) await recordOptOut(store.redis, store.prefix, c._id.toString(), at);
}
