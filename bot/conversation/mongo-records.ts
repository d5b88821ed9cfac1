import { Types } from 'mongoose';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import type { EngineState } from '../engine/types';
import type { ConversationRecords, ResponseMeta } from './ports';

/** ConversationRecords on MongoDB: lean reads of the few fields a turn needs. */
export function mongoConversationRecords(): ConversationRecords {
  return {
    async contactOf(channel, userId) {
      const doc = await Contact.findOne({ channel, channelUserId: userId }, { _id: 1, lang: 1 }).lean();
      return doc ? { id: String(doc._id), lang: doc.lang === 'en' ? 'en' : 'vi' } : null;
    },
    async activeSessionOf(contactId, channel) {
      const doc = await Session.findOne({
        contactId: new Types.ObjectId(contactId),
        channel,
        status: 'active',
      }).lean();
      if (!doc) return null;
      return {
        id: String(doc._id),
        dossierCode: doc.dossierCode ?? null,
        responseId: doc.responseId,
        flowKey: doc.flowKey,
        flowVersion: doc.flowVersion,
        state: doc.state as EngineState,
        meta: (doc.meta as ResponseMeta | null) ?? null,
        rev: doc.rev ?? 0,
        lastUpdateId: doc.lastUpdateId ?? 0,
        startedAt: doc.startedAt,
      };
    },
    async dossierCompleted(code) {
      return (await Session.exists({ dossierCode: code, status: 'completed' })) !== null;
    },
    async unitName(code) {
      return (await Unit.findOne({ code }, { name: 1 }).lean())?.name ?? null;
    },
    async *contactKeys() {
      const cursor = Contact.find({}, { _id: 0, channel: 1, channelUserId: 1 })
        .lean()
        .cursor({ batchSize: 1000 });
      for await (const c of cursor) yield { channel: c.channel, userId: c.channelUserId };
    },
  };
}
