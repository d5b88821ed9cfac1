import type { RedisClient } from '../../lib/redis';
import type { EngineState, SessionStatus } from '../engine/types';
import type { ChannelName, TurnReply } from '../channels/channel';
import { knownContactBits, knownContactsKey, queueKnownContactMark } from './known-contacts';
import type { ResponseMeta } from './ports';

/**
 * The live state of conversations, in Redis: every turn reads and writes here only, so a turn
 * costs a few Redis round trips instead of several MongoDB writes. MongoDB holds the durable
 * copy (models/session.ts), written behind by the `session.sync` job; a session missing here
 * (Redis restarted without persistence) is re-read from MongoDB.
 */
export interface LiveSession {
  id: string;
  contactId: string;
  channel: ChannelName;
  userId: string;
  dossierCode: string | null;
  responseId: string;
  flowKey: string;
  flowVersion: number;
  status: SessionStatus;
  state: EngineState;
  meta: ResponseMeta | null;
  rev: number;
  lastUpdateId: number;
  startedAt: string;
  completedAt: string | null;
  /** When the invitation expires (ISO); a turn after it gets "đã hết hạn" and ends the survey. */
  expiresAt?: string | null;
}

export interface LiveContact {
  id: string;
  lang: 'vi' | 'en';
}

const ACTIVE_TTL_S = 60 * 24 * 3600;
const FINISHED_TTL_S = 3 * 24 * 3600;
const CONTACT_TTL_S = 30 * 24 * 3600;
/** A turn's kept reply: as long as a retry or an operator's replay of its update may come. */
const REPLY_TTL_S = 3 * 24 * 3600;
/** A dossier's claim outlives any session that may still answer it (an active one lives 60 days). */
const DOSSIER_CLAIM_TTL_S = ACTIVE_TTL_S;
/**
 * The active pointer's value for "this channel user has no active session", known to the live
 * store. A missing pointer means "not known" (new to this store, or Redis lost its data) and
 * costs a MongoDB lookup; this value saves it on every /start after a finished survey and on a
 * new contact's first turn (on FerretDB that lookup is a scan of the sessions).
 */
const NO_ACTIVE = '-';

// Saves a session only if its revision is still the one the turn read (optimistic concurrency),
// and moves the channel user's "active" pointer with it, in one atomic step: to the session while
// it is active, to NO_ACTIVE (ARGV[7], for ARGV[8] s) once it finished, if it still pointed to it.
// With a reply (ARGV[9], for update ARGV[10]) the turn's reply is kept with it (KEYS[3]): a turn
// is never applied without its reply being kept.
const SAVE = `
local cur = redis.call('HGET', KEYS[1], 'rev')
if cur and tonumber(cur) ~= tonumber(ARGV[1]) then return 0 end
if (not cur) and tonumber(ARGV[1]) ~= -1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8]) end
else
  redis.call('SET', KEYS[2], ARGV[6], 'EX', ARGV[4])
end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[3], 'u', ARGV[10], 'r', ARGV[9])
  redis.call('EXPIRE', KEYS[3], ARGV[11])
end
return 1`;

// What a turn needs first, in one round trip: the cached contact (its TTL renewed), whether its
// "last interaction" is due (at most once per ARGV[2] ms per channel user), the id of the
// channel user's active session, the reply kept for this very update (ARGV[3]) if it was
// applied already (a retry after the reply could not be delivered), and whether an uncached
// contact was never seen.
// An uncached contact is looked up in the known-contacts filter (KEYS[5], bit offsets ARGV[4..]):
// 0 never seen (a new citizen), 1 maybe seen, 2 the filter is not complete (known-contacts.ts).
const TURN_CONTEXT = `
local c = redis.call('GETEX', KEYS[1], 'EX', ARGV[1])
local touch = 0
if c and redis.call('SET', KEYS[2], '1', 'PX', ARGV[2], 'NX') then touch = 1 end
local r = false
if redis.call('HGET', KEYS[4], 'u') == ARGV[3] then r = redis.call('HGET', KEYS[4], 'r') end
local seen = 1
if not c then
  if redis.call('GETBIT', KEYS[5], 0) == 0 then seen = 2
  else
    for i = 4, #ARGV do
      if redis.call('GETBIT', KEYS[5], ARGV[i]) == 0 then seen = 0 break end
    end
  end
end
return {c or false, touch, redis.call('GET', KEYS[3]) or false, r, seen}`;

// Claims a dossier's one counted response for ARGV[1]: 1 when it is (now or already) this
// response's, 0 when another response holds it.
const CLAIM_DOSSIER = `
local cur = redis.call('GET', KEYS[1])
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
if cur == ARGV[1] then return 1 end
return 0`;

// Sets the pointer to NO_ACTIVE when it is missing or still names the stale session ARGV[3].
const MARK_NO_ACTIVE = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

export interface TurnContext {
  contact: LiveContact | null;
  /** True when the contact is cached and its last interaction should be recorded now. */
  touch: boolean;
  /** The active session's id per the live store. */
  activeId: string | null;
  /** The live store knows there is no active session (no need to ask MongoDB). */
  knownNoActive: boolean;
  /** This update was applied already: the reply its turn gave. */
  appliedReply: TurnReply | null;
  /**
   * No contact is cached and the known-contacts filter says MongoDB holds none either: a new
   * citizen, whose turn needs no MongoDB read (known-contacts.ts).
   */
  neverSeen: boolean;
}

export class LiveStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private activeKey(channel: string, userId: string): string {
    return `${this.prefix}:conv:active:${channel}:${userId}`;
  }
  sessionKey(id: string): string {
    return `${this.prefix}:conv:sess:${id}`;
  }
  private contactKey(channel: string, userId: string): string {
    return `${this.prefix}:conv:contact:${channel}:${userId}`;
  }
  private replyKey(channel: string, userId: string): string {
    return `${this.prefix}:conv:reply:${channel}:${userId}`;
  }
  private dossierKey(code: string): string {
    return `${this.prefix}:conv:dossier:${code}`;
  }

  async getContact(channel: string, userId: string): Promise<LiveContact | null> {
    const raw = await this.redis.getex(this.contactKey(channel, userId), 'EX', CONTACT_TTL_S);
    return raw ? (JSON.parse(raw) as LiveContact) : null;
  }

  /**
   * Caches the contact, and marks the channel user known before its record is written.
   * `touchEveryMs`: also starts the "last interaction" throttle (true at most once per that many
   * ms per channel user, as in TURN_CONTEXT) in the same round trip, and says whether an
   * interaction is due now; false when not asked. `noActive`: the contact is created now, so it
   * has no session: the "no active session" pointer is set too, unless one was set meanwhile
   * (markNoActive without a stale id, in this round trip instead of one of its own).
   */
  async setContact(
    channel: string,
    userId: string,
    c: LiveContact,
    opts: { touchEveryMs?: number; noActive?: boolean } = {},
  ): Promise<boolean> {
    const p = this.redis.pipeline();
    p.set(this.contactKey(channel, userId), JSON.stringify(c), 'EX', CONTACT_TTL_S);
    queueKnownContactMark(p, this.prefix, channel, userId);
    if (opts.noActive) p.set(this.activeKey(channel, userId), NO_ACTIVE, 'EX', CONTACT_TTL_S, 'NX');
    if (opts.touchEveryMs !== undefined)
      p.set(this.touchKey(channel, userId), '1', 'PX', opts.touchEveryMs, 'NX');
    const replies = (await p.exec()) ?? [];
    const failed = replies.find(([err]) => err)?.[0];
    if (failed) throw failed;
    return opts.touchEveryMs !== undefined && replies.at(-1)?.[1] === 'OK';
  }

  private touchKey(channel: string, userId: string): string {
    return `${this.prefix}:conv:touch:${channel}:${userId}`;
  }

  /** The start of a turn in one round trip (see TURN_CONTEXT). */
  async turnContext(
    channel: string,
    userId: string,
    touchEveryMs: number,
    updateId: number,
  ): Promise<TurnContext> {
    const [c, touch, activeId, reply, seen] = (await this.redis.eval(
      TURN_CONTEXT,
      5,
      this.contactKey(channel, userId),
      this.touchKey(channel, userId),
      this.activeKey(channel, userId),
      this.replyKey(channel, userId),
      knownContactsKey(this.prefix),
      String(CONTACT_TTL_S),
      String(touchEveryMs),
      String(updateId),
      ...knownContactBits(channel, userId).map(String),
    )) as [string | null, number, string | null, string | null, number];
    const known = activeId === NO_ACTIVE;
    return {
      contact: c ? (JSON.parse(c) as LiveContact) : null,
      touch: touch === 1,
      activeId: known ? null : (activeId ?? null),
      knownNoActive: known,
      appliedReply: reply ? (JSON.parse(reply) as TurnReply) : null,
      neverSeen: !c && seen === 0,
    };
  }

  /**
   * Claims the one counted response of a dossier for `responseId` (the first survey of it to
   * finish): true when it is this response's, false when another finished first.
   */
  async claimDossier(code: string, responseId: string): Promise<boolean> {
    const ok = (await this.redis.eval(
      CLAIM_DOSSIER,
      1,
      this.dossierKey(code),
      responseId,
      String(DOSSIER_CLAIM_TTL_S),
    )) as number;
    return ok === 1;
  }

  /** The response that finished the dossier's survey, per the live store (null: none known). */
  async dossierClaimedBy(code: string): Promise<string | null> {
    return this.redis.get(this.dossierKey(code));
  }

  /**
   * Records that the channel user has no active session (after MongoDB said so, or for a contact
   * just created), unless the pointer was set meanwhile; `staleId`: a pointer to this session,
   * whose state the live store no longer holds, is replaced too.
   */
  async markNoActive(channel: string, userId: string, staleId: string | null = null): Promise<void> {
    await this.redis.eval(
      MARK_NO_ACTIVE,
      1,
      this.activeKey(channel, userId),
      NO_ACTIVE,
      String(CONTACT_TTL_S),
      staleId ?? '',
    );
  }

  /**
   * Erasure (privacy/erase.ts): drops everything the live store holds about a channel user
   * and these sessions (their state holds the answers, free text included). Returns the number
   * of keys that existed. The next message from the user starts as from a stranger.
   */
  async forget(channel: string, userId: string, sessionIds: readonly string[]): Promise<number> {
    const active = await this.redis.get(this.activeKey(channel, userId));
    const ids = new Set(sessionIds);
    if (active && active !== NO_ACTIVE) ids.add(active);
    return this.redis.del(
      this.contactKey(channel, userId),
      this.touchKey(channel, userId),
      this.activeKey(channel, userId),
      this.replyKey(channel, userId),
      ...[...ids].map((id) => this.sessionKey(id)),
    );
  }

  async getActive(channel: string, userId: string): Promise<LiveSession | null> {
    const id = await this.redis.get(this.activeKey(channel, userId));
    return id && id !== NO_ACTIVE ? this.getById(id) : null;
  }

  async getById(id: string): Promise<LiveSession | null> {
    const raw = await this.redis.hget(this.sessionKey(id), 'json');
    return raw ? (JSON.parse(raw) as LiveSession) : null;
  }

  /**
   * Writes `next` if the stored revision is `expectedRev` (-1: the session must not exist yet).
   * Returns false when another process got there first. `reply`: the turn's reply, kept with it
   * for a retry of update `next.lastUpdateId` (see TURN_CONTEXT).
   */
  async save(next: LiveSession, expectedRev: number, reply?: TurnReply): Promise<boolean> {
    const finished = next.status !== 'active';
    const ok = (await this.redis.eval(
      SAVE,
      3,
      this.sessionKey(next.id),
      this.activeKey(next.channel, next.userId),
      this.replyKey(next.channel, next.userId),
      String(expectedRev),
      String(next.rev),
      JSON.stringify(next),
      String(finished ? FINISHED_TTL_S : ACTIVE_TTL_S),
      finished ? '1' : '0',
      next.id,
      NO_ACTIVE,
      String(CONTACT_TTL_S),
      reply ? JSON.stringify(reply) : '',
      String(next.lastUpdateId),
      String(REPLY_TTL_S),
    )) as number;
    return ok === 1;
  }
}
