import type { TurnReply } from '../channels/channel';
import type { EngineResult } from '../engine/types';
import type { ConversationDeps } from './deps';
import type { LiveSession } from './live-store';

/** Thrown when another process applied a turn to the same session first; the caller retries. */
export class ConcurrentTurnError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} was modified concurrently`);
    this.name = 'ConcurrentTurnError';
  }
}

/**
 * Saves a session in the live store if its revision is still `expectedRev` (-1: a new one), with
 * the turn's `reply` kept for a retry of its update (live-store.ts), and schedules its MongoDB copy.
 */
export async function saveSession(
  deps: Pick<ConversationDeps, 'store' | 'background'>,
  next: LiveSession,
  expectedRev: number,
  reply?: TurnReply,
): Promise<void> {
  // A new session or one that just ended is copied soon; progress in between later.
  const settled = expectedRev === -1 || next.status !== 'active';
  // Sent together, so the turn waits for Redis once, not twice: the save is sent first on the
  // same connection, so Redis runs it first, and the copy's job (delayed, one per window) copies
  // whatever the live store holds when it runs. A copy scheduled for a save that lost to another
  // process copies that process's state, which that process scheduled too: harmless.
  const [saved, scheduled] = await Promise.allSettled([
    deps.store.save(next, expectedRev, reply),
    deps.background.syncSession(next.id, settled ? 'soon' : 'later'),
  ]);
  if (saved.status === 'rejected') throw saved.reason;
  if (!saved.value) throw new ConcurrentTurnError(next.id);
  if (scheduled.status === 'rejected') throw scheduled.reason;
}

/** The channel-neutral reply of an engine result. */
export function replyOf(result: EngineResult): TurnReply {
  return {
    messages: result.messages,
    lang: result.state.lang,
    ...(result.ack !== undefined ? { ack: result.ack } : {}),
    ...(result.updateChoices !== undefined ? { updateChoices: result.updateChoices } : {}),
    ...(result.chosen ? { chosen: result.chosen } : {}),
  };
}
