import type { ConversationBackground } from '../bot/conversation/ports';
import { appendContactChange } from './jobs/contact-changes';
import type { JobProducer } from './producer';

export interface ConversationBackgroundOptions {
  /** Coalescing window of a survey's progress copies (SESSION_SYNC_LATER_MS). */
  laterMs?: number;
}

/** Coalescing window of a session's start and end copies. */
const SOON_MS = 300;

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
  let seq = 0;
  const laterMs = opts.laterMs ?? 20_000;
  return {
    async syncSession(sessionId, when) {
      const [jobId, delay] =
        when === 'soon' ? [`sess-${sessionId}`, SOON_MS] : [`sess-${sessionId}-later`, laterMs];
      await producer.add('session.sync', { sessionId }, { jobId, delay });
    },
    async updateContact(p) {
      // In the contact's ordered list first (workers/jobs/contact-changes.ts), then the job that drains it.
      await appendContactChange(producer.connection, producer.prefix, p.contactId, {
        channel: p.channel,
        userId: p.userId,
        set: { ...p.set },
        ...(p.created ? { created: true } : {}),
      });
      await producer.add(
        'contact.update',
        { ...p, queued: true },
        { jobId: `ct-${p.contactId}-${Date.now().toString(36)}-${(seq++).toString(36)}` },
      );
    },
  };
}
