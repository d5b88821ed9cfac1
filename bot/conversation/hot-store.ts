import type { Redis } from 'ioredis';
import type { EngineState, SessionStatus } from '../engine/types';
import type { ChannelName } from '../channels/channel';
import type { ResponseMeta } from './ports';

/**
 * The live state of conversations, in Redis: every turn reads and writes here only, so a turn
 * costs a few Redis round trips instead of several MongoDB writes. MongoDB holds the durable
 * copy (models/session.ts), written behind by the `session.sync` job; a session missing here
 * (Redis restarted without persistence) is re-read from MongoDB.
 */
export interface HotSession {
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

export interface HotContact {
  id: string;
  lang: 'vi' | 'en';
}

const ACTIVE_TTL_S = 60 * 24 * 3600;
const FINISHED_TTL_S = 3 * 24 * 3600;
const CONTACT_TTL_S = 30 * 24 * 3600;

// Saves a session only if its revision is still the one the turn read (optimistic concurrency),
// and moves the channel user's "active" pointer with it, in one atomic step.
const SAVE = `
local cur = redis.call('HGET', KEYS[1], 'rev')
if cur and tonumber(cur) ~= tonumber(ARGV[1]) then return 0 end
if (not cur) and tonumber(ARGV[1]) ~= -1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
else
  redis.call('SET', KEYS[2], ARGV[6], 'EX', ARGV[4])
end
return 1`;

export class HotStore {
  constructor(
    private readonly redis: Redis,
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

  async getContact(channel: string, userId: string): Promise<HotContact | null> {
    const raw = await this.redis.getex(this.contactKey(channel, userId), 'EX', CONTACT_TTL_S);
    return raw ? (JSON.parse(raw) as HotContact) : null;
  }

  async setContact(channel: string, userId: string, c: HotContact): Promise<void> {
    await this.redis.set(this.contactKey(channel, userId), JSON.stringify(c), 'EX', CONTACT_TTL_S);
  }

  /** True at most once per `everyMs` per contact: throttles "last interaction" writes. */
  async shouldTouch(contactId: string, everyMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:conv:touch:${contactId}`, '1', 'PX', everyMs, 'NX')) === 'OK';
  }

  async getActive(channel: string, userId: string): Promise<HotSession | null> {
    const id = await this.redis.get(this.activeKey(channel, userId));
    return id ? this.getById(id) : null;
  }

  async getById(id: string): Promise<HotSession | null> {
    const raw = await this.redis.hget(this.sessionKey(id), 'json');
    return raw ? (JSON.parse(raw) as HotSession) : null;
  }

  /**
   * Writes `next` if the stored revision is `expectedRev` (-1: the session must not exist yet).
   * Returns false when another process got there first.
   */
  async save(next: HotSession, expectedRev: number): Promise<boolean> {
    const finished = next.status !== 'active';
    const ok = (await this.redis.eval(
      SAVE,
      2,
      this.sessionKey(next.id),
      this.activeKey(next.channel, next.userId),
      String(expectedRev),
      String(next.rev),
      JSON.stringify(next),
      String(finished ? FINISHED_TTL_S : ACTIVE_TTL_S),
      finished ? '1' : '0',
      next.id,
    )) as number;
    return ok === 1;
  }
}
