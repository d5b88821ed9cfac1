import type { EngineState, RecordedAnswer } from '../engine/types';
import type { ChannelName } from '../channels/channel';

/** Everything about a response except identity: what the ingest jobs carry (Law 91/2025/QH15). */
export interface ResponseMeta {
  dossierCode: string | null;
  unitCode: string | null;
  procedureCode: string | null;
  officerId: string | null;
  dossierChannel: 'in_person' | 'online' | 'post' | null;
  onlineLevel: number | null;
  surveyChannel: ChannelName;
  flowKey: string;
  flowVersion: number;
  lang: 'vi' | 'en';
  startedAt: string;
}

/**
 * Where answers go. The bot never writes answers to MongoDB itself: the production sink adds
 * `answers.record` jobs (concurrent answers batched) and `response.complete` jobs with stable
 * jobIds (see workers/answer-sink.ts).
 */
export interface AnswerSink {
  answer(p: {
    responseId: string;
    meta: ResponseMeta;
    answer: RecordedAnswer;
    answeredAt: string;
  }): Promise<void>;
  complete(p: {
    responseId: string;
    meta: ResponseMeta;
    answers: RecordedAnswer[];
    completedAt: string;
  }): Promise<void>;
}

/** The dossier a survey token names (bot/survey/token.ts provides the real resolver). */
export interface TokenDossier {
  code: string;
  unitCode: string;
  procedureCode: string;
  procedureName?: string | null;
  officerId?: string | null;
  channel: 'in_person' | 'online' | 'post';
  onlineLevel?: number | null;
  survey?: { responseId?: string | null; expiresAt?: Date | null } | null;
}
export type TokenResolution =
  | { ok: true; dossier: TokenDossier }
  /** A unit's own survey (a poster's `u_<unit>`): answers count for the unit, with no dossier. */
  | { ok: true; dossier: null; unitCode: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' };
export type TokenResolver = (token: string, now: Date) => Promise<TokenResolution>;

/** A citizen's own privacy requests from a chat (privacy/requests.ts). */
export interface PrivacyRequests {
  /** What is held about this channel user, as the text to send them. */
  access(channel: ChannelName, userId: string, lang: 'vi' | 'en'): Promise<string>;
  /** Erases this channel user; returns the erasure id (the audit entry's target). */
  erase(channel: ChannelName, userId: string): Promise<string>;
}

/** Lifecycle notifications (invitation stats, reminders cancellation, cases). Optional. */
export interface ConversationHooks {
  onStarted?(p: { dossierCode: string | null; responseId: string; channel: ChannelName }): Promise<void>;
  onFinished?(p: {
    dossierCode: string | null;
    responseId: string;
    status: string;
    channel: ChannelName;
  }): Promise<void>;
}

/** Contact fields a conversation changes (ISO dates). */
export interface ContactChanges {
  lang?: 'vi' | 'en';
  consentAt?: string;
  consentTextVersion?: string;
  unsubscribedAt?: string | null;
  blockedAt?: string | null;
  lastInteractionAt?: string;
  /** Keyed hash of a phone the citizen shared (Zalo user_submit_info). */
  phoneHash?: string;
  /** lib/phone.ts phoneKeyId of the key that made `phoneHash`. */
  phoneHashKeyId?: string;
}

/**
 * Writes a conversation makes to MongoDB off the turn's path (jobs in production,
 * workers/conversation-background.ts): the durable copy of a session, contact changes.
 */
export interface ConversationBackground {
  /**
   * Copies the session's live state to MongoDB. `soon` when it starts or ends (others read that
   * copy: the integrity rules by response id, a dossier's "already answered"); `later` for
   * progress within a survey, which only a lost live store reads: coalesced over a longer
   * window, so a survey costs a few writes instead of one per turn.
   */
  syncSession(sessionId: string, when: 'soon' | 'later'): Promise<void>;
  updateContact(p: {
    contactId: string;
    channel: 'telegram' | 'zalo' | 'web';
    userId: string;
    set: ContactChanges;
    /** The contact is new (MongoDB had none): its first write may be an insert. */
    created?: boolean;
  }): Promise<void>;
}

/** A contact's MongoDB record, as a turn needs it when the live store does not hold it. */
export interface StoredContact {
  id: string;
  lang: 'vi' | 'en';
}

/** The durable copy of an active session (models/session.ts), for a live store that lost it. */
export interface StoredSession {
  id: string;
  dossierCode: string | null;
  responseId: string;
  flowKey: string;
  flowVersion: number;
  state: EngineState;
  meta: ResponseMeta | null;
  rev: number;
  lastUpdateId: number;
  startedAt: Date;
}

/**
 * What a conversation reads from MongoDB, only when the live store does not know
 * (mongo-records.ts): a contact it has not cached, a session it lost, whether a dossier's survey
 * was completed before the live store's claim, a unit's name for a dossier survey's greeting.
 */
export interface ConversationRecords {
  contactOf(channel: ChannelName, userId: string): Promise<StoredContact | null>;
  activeSessionOf(contactId: string, channel: ChannelName): Promise<StoredSession | null>;
  dossierCompleted(code: string): Promise<boolean>;
  unitName(code: string): Promise<string | null>;
  /** Every contact's channel user (the known-contacts filter's backfill). */
  contactKeys(): AsyncIterable<{ channel: ChannelName; userId: string }>;
}
