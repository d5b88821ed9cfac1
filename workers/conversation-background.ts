import type { ConversationBackground } from '../bot/conversation/ports';
import { writeContact } from './jobs/contact-writer';
import { jobId } from './job-id';
import type { JobProducer } from './producer';

export interface ConversationBackgroundOptions {
  /** Coalescing window of a survey's progress copies (SESSION_SYNC_LATER_MS). */
  laterMs?: number;
}

/** Coalescing window of a session's start and end copies. */
const SOON_MS = 300;

/**
 * A session's `session.sync` job id: one per window (`sess-<id>` soon, `sess-<id>-later`), and
 * `sess-<id>-r<rev>` for the copy of a turn that landed while a sync ran (session-sync.ts).
 */
export function sessionSyncJobId(sessionId: string, which: 'soon' | 'later' | { rev: number }): string {
  if (which === 'soon') return jobId('sess', sessionId);
  return jobId('sess', sessionId, which === 'later' ? 'later' : `r${which.rev}`);
}

/**
 * ConversationBackground through jobs: session copies coalesced per session (one job id per
 * window: a turn that finds the job still waiting adds nothing), contact changes in order of
 * arrival, one writer per contact. The `later` job of a session that has ended meanwhile finds
 * its copy up to date and writes nothing.
 */
export function jobConversationBackground(
  producer: JobProducer,
  opts: ConversationBackgroundOptions = {},
): ConversationBackground {
  const laterMs = opts.laterMs ?? 20_000;
  return {
    async syncSession(sessionId, when) {
      await producer.add(
        'session.sync',
        { sessionId },
        { jobId: sessionSyncJobId(sessionId, when), delay: when === 'soon' ? SOON_MS : laterMs },
      );
    },
    updateContact: (p) => writeContact(producer, p),
  };
}
