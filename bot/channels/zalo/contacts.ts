import type { RedisClient } from '../../../lib/redis';
import { goneChanges, writeContactOf } from '../../../workers/jobs/contact-writer';

/**
 * Marks a Zalo contact that cannot or does not want to receive: unsubscribed (unfollowed, -213)
 * or blocked (-227 banned/inactive, -244 restricted our messages). Invitations skip both; a
 * broadcast going out skips the contact from its next delivery on (the opt-out log). Through the
 * one contact writer (workers/jobs/contact-writer.ts).
 */
export async function markZaloContact(
  store: { redis: RedisClient; prefix: string },
  userId: string,
  mark: 'unsubscribed' | 'blocked',
  at: Date,
): Promise<void> {
  await writeContactOf(store, 'zalo', userId, goneChanges(mark, at));
}
