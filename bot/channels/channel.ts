import type { Lang } from '../flow/schema';
import type { Choice, Inbound, Outbound } from '../engine/types';

export type ChannelName = 'telegram' | 'zalo' | 'web';

/**
 * One inbound event from a citizen, already mapped from the platform's shape.
 * `updateId` is the platform's monotonically increasing id for this user (Telegram update_id,
 * Zalo event timestamp, web client sequence): a turn whose id is not above the session's last
 * applied id is a duplicate and changes nothing.
 */
export interface InboundEvent {
  channel: ChannelName;
  /** Telegram chat id, Zalo user id, web contact id. */
  userId: string;
  updateId: number;
  /** Platform language hint (Telegram language_code), used only for a new contact. */
  langHint?: string;
  input:
    | Inbound
    | { kind: 'start'; token?: string }
    /** /dulieu (access) and /xoa (erase; `confirmed` by "/xoa dongy"): lib/privacy, not the engine. */
    | { kind: 'privacy'; request: 'access' | 'erase'; confirmed?: boolean };
  /**
   * The turn applies only to an active session of this dossier; otherwise nothing changes and
   * the reply says `refused` (the web chat: a page bound to one survey must not answer another).
   * null: an active session without a dossier (a unit's own survey, /s/u/<unit>).
   */
  dossierCode?: string | null;
}

/**
 * Whether the unit can write to the citizen again later through this channel (a chat app), so
 * a complaint's thank-you may say it could follow up there. The web chat keeps no contact.
 */
export function reachesBack(channel: ChannelName): boolean {
  return channel !== 'web';
}

/** What the conversation service asks the channel to do after a turn. */
export interface TurnReply {
  messages: Outbound[];
  /** Acknowledgement text for a button press (Telegram answerCallbackQuery). */
  ack?: string;
  /** For a button press: new buttons for the pressed message (null removes them, undefined leaves them). */
  updateChoices?: Choice[][] | null;
  /** For a button press that answered: the labels chosen (the web chat shows them back). */
  chosen?: string[];
  /** The event's `dossierCode` is not the active session's: nothing was applied. */
  refused?: true;
  lang: Lang;
  /**
   * This update's turn was applied before and this is its kept reply: the channel sends what
   * it has not delivered yet (a retry after a failed send).
   */
  replayed?: true;
}
