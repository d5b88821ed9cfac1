import type { RedisClient } from '../lib/redis';
import { Types } from 'mongoose';
import { LiveStore } from '../bot/conversation/live-store';
import { Contact } from '../models/contact';
import { Dossier } from '../models/dossier';
import { Session } from '../models/session';
import { normalisePhone, hashPhone } from '../lib/phone';
import { UserError } from '../lib/user-error';

export type SubjectChannel = 'telegram' | 'zalo' | 'web';

/**
 * Whose data a request is about (Law 91/2025/QH15, the data subject): a phone number (a request
 * on paper: the dossiers and contacts that carry its keyed hash), or a channel user (a chat id,
 * a Zalo user id, a web-chat device id: the citizen's own /xoa or /dulieu).
 */
export type Subject = { phone: string } | { channel: SubjectChannel; userId: string };

export interface PrivacyDeps {
  redis: RedisClient;
  prefix: string;
  /** PHONE_HASH_KEY: the key of the stored phone hashes. */
  phoneHashKey: string;
  /** PHONE_HASH_KEY_PREVIOUS: older keys (comma-separated) whose hashes a request by phone also finds. */
  phoneHashKeyPrevious?: string | undefined;
}

export interface SubjectContact {
  id: string;
  channel: SubjectChannel;
  userId: string;
}

/** Everything found that ties records to the subject: ids and hashes, never a plain number. */
export interface FoundSubject {
  contacts: SubjectContact[];
  phoneHashes: string[];
  /** Sessions of those contacts (their `responseId`s link answers to the person). */
  sessions: Array<{ id: string; responseId: string; dossierCode: string | null }>;
  /** Codes of the dossiers carrying one of the phone hashes or linked to one of the contacts. */
  dossierCodes: string[];
}

/** A bad phone number is the operator's mistake: said clearly, nothing touched. */
export function phoneHashFor(phone: string, key: string): string {
  const e164 = normalisePhone(phone);
  // The number is not repeated: a refusal may end up in a terminal log.
  if (e164 === null) throw new UserError('số điện thoại không hợp lệ', 'not a Vietnamese phone number', 2);
  return hashPhone(e164, key);
}

/**
 * Resolves a subject to its records. A channel user's contact may still be on its way to MongoDB
 * (the conversation creates it through a job): the live store's contact id is included then.
 */
export async function findSubject(subject: Subject, deps: PrivacyDeps): Promise<FoundSubject> {
  const contacts = new Map<string, SubjectContact>();
  const phoneHashes = new Set<string>();
  if ('phone' in subject) {
    // Under the key and every previous one: records hashed before a change of the key are the
    // same person's, and an erasure must reach them too.
    const keys = [deps.phoneHashKey, ...(deps.phoneHashKeyPrevious ?? '').split(',').map((k) => k.trim())];
    for (const key of keys.filter(Boolean)) phoneHashes.add(phoneHashFor(subject.phone, key));
    const byPhone = { phoneHash: { $in: [...phoneHashes] } };
    for (const c of await Contact.find(byPhone, { channel: 1, channelUserId: 1 }).lean())
      contacts.set(String(c._id), { id: String(c._id), channel: c.channel, userId: c.channelUserId });
  } else {
    const { channel, userId } = subject;
    const doc = await Contact.findOne({ channel, channelUserId: userId }, { phoneHash: 1 }).lean();
    if (doc) {
      contacts.set(String(doc._id), { id: String(doc._id), channel, userId });
      if (doc.phoneHash) phoneHashes.add(doc.phoneHash);
    }
    const hot = await new LiveStore(deps.redis, deps.prefix).getContact(channel, userId);
    if (hot && !contacts.has(hot.id)) contacts.set(hot.id, { id: hot.id, channel, userId });
  }
  const ids = [...contacts.keys()].map((id) => new Types.ObjectId(id));
  const sessions =
    ids.length === 0
      ? []
      : await Session.find({ contactId: { $in: ids } }, { responseId: 1, dossierCode: 1 }).lean();
  const hashes = [...phoneHashes];
  const or: Record<string, unknown>[] = [];
  if (hashes.length > 0) or.push({ applicantPhoneHash: { $in: hashes } });
  if (ids.length > 0) or.push({ contactIds: { $in: ids } }, { 'invitation.contactId': { $in: ids } });
  const dossiers = or.length === 0 ? [] : await Dossier.find({ $or: or }, { code: 1 }).lean();
  return {
    contacts: [...contacts.values()],
    phoneHashes: hashes,
    sessions: sessions.map((s) => ({
      id: String(s._id),
      responseId: s.responseId,
      dossierCode: s.dossierCode ?? null,
    })),
    dossierCodes: dossiers.map((d) => d.code),
  };
}
