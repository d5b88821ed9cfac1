import type { ConversationBackground } from '../bot/conversation/ports';
import type { JobProducer } from '../workers/producer';

/** ConversationBackground through jobs: session copies coalesced per session, contact changes in order of arrival. */
export function jobConversationBackground(producer: JobProducer): ConversationBackground {
  let seq = 0;
  return {
    async syncSession(sessionId) {
      await producer.add('session.sync', { sessionId }, { jobId: `sess-${sessionId}`, delay: 300 });
    },
    async updateContact(p) {
      await producer.add('contact.update', p, { jobId: `ct-${p.contactId}-${Date.now().toString(36)}-${(seq++).toString(36)}` });
    },
  };
}
