import type { ConversationBackground } from '../bot/conversation/ports';
import { appendContactChange } from '../workers/jobs/contact-changes';
import type { JobProducer } from '../workers/producer';

/** ConversationBackground through jobs: session copies coalesced per session, contact changes in order of arrival, one writer per contact. */
export function jobConversationBackground(producer: JobProducer): ConversationBackground {
  let seq = 0;
  return {
    async syncSession(sessionId) {
      await producer.add('session.sync', { sessionId }, { jobId: `sess-${sessionId}`, delay: 300 });
    },
    async updateContact(p) {
      // In the contact's ordered list first (workers/jobs/contact-changes.ts), then the job that drains it.
      await appendContactChange(producer.connection, producer.prefix, p.contactId, { channel: p.channel, userId: p.userId, set: { ...p.set } });
      await producer.add('contact.update', { ...p, queued: true }, { jobId: `ct-${p.contactId}-${Date.now().toString(36)}-${(seq++).toString(36)}` });
    },
  };
}
