import { Contact } from '../../../models/contact';

/**
 * Marks a Zalo contact that cannot or does not want to receive: unsubscribed (unfollowed, -213)
 * or blocked (-227 banned/inactive, -244 restricted our messages). Invitations skip both.
 */
export async function markZaloContact(userId: string, mark: 'unsubscribed' | 'blocked', at: Date): Promise<void> {
  const field = mark === 'blocked' ? 'blockedAt' : 'unsubscribedAt';
  await Contact.updateOne({ channel: 'zalo', channelUserId: userId }, { $set: { [field]: at } }, { upsert: true });
}
