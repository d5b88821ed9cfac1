import type { Redis } from 'ioredis';
import { key } from '../redis';

/**
 * A mark left by an erasure on each erased contact id, for as long as a job queued before it may
 * still run (retries included): contact-update and session-sync jobs about a marked contact write
 * nothing, so an erased person is not brought back by their own pending changes. A person who
 * writes again afterwards gets a new contact id.
 */
const ERASED_MARK_TTL_S = 14 * 24 * 3600;

const erasedKey = (prefix: string, contactId: string): string => key(prefix, 'privacy', 'erased', contactId);

export async function markErased(redis: Redis, prefix: string, contactId: string): Promise<void> {
  await redis.set(erasedKey(prefix, contactId), '1', 'EX', ERASED_MARK_TTL_S);
}

/** Whether this contact was erased (recently): jobs about it must not write it back. */
export async function wasErased(redis: Redis, prefix: string, contactId: string): Promise<boolean> {
  return (await redis.exists(erasedKey(prefix, contactId))) === 1;
}
