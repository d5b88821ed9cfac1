import type { Redis } from 'ioredis';
import { key } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';

/**
 * Per-recipient delivery state of a broadcast, in Redis beside its jobs (the send path makes no
 * MongoDB call: on FerretDB one write costs ~10 ms, which would cap a broadcast far below the
 * platform limits). One hash per broadcast, contact id → state:
 *
 *   "q|<chatId>|<lang>|<channel>"  queued (what a resume needs to re-add the job)
 *   "s|<chatId>|<lang>|<channel>"  sending: claimed for a platform call
 *   "S" sent · "F" failed · "B" blocked (dead recipient) · "K" skipped (unsubscribed meanwhile)
 *   "X" cancelled
 *
 * Each transition and its counter move in one script, so counts never drift from states. The
 * claim also reads the broadcast's control key and the channel's 429 pause: once a cancel is
 * written, no claim can succeed, and `sending` is exactly what may still reach the platform.
 * Outcomes are copied into the Broadcast document when it finishes (report).
 */
export type SettledState = 'sent' | 'failed' | 'blocked' | 'skipped' | 'cancelled';
const CODE: Record<SettledState, string> = { sent: 'S', failed: 'F', blocked: 'B', skipped: 'K', cancelled: 'X' };

export type ClaimResult =
  | { kind: 'go'; recovered: boolean }
  | { kind: 'settled' }
  | { kind: 'cancelled' }
  | { kind: 'paused' }
  | { kind: 'rate_limited'; ms: number }
  /** The channel's 1 s window is full: wait this long and claim again. */
  | { kind: 'wait'; ms: number };

const ADD = `
local n = 0
for i = 1, #ARGV, 2 do n = n + redis.call('hsetnx', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('hincrby', KEYS[2], 'total', n)
return n
`;

// KEYS: states, counts, ctl, channel pause, channel send log. ARGV: contact id, limit per s, log member.
const CLAIM = `
local prev = redis.call('hget', KEYS[1], ARGV[1])
if not prev then return {'settled'} end
local st = string.sub(prev, 1, 1)
if st ~= 'q' and st ~= 's' then return {'settled'} end
local rest = string.sub(prev, 2)
local ctl = redis.call('get', KEYS[3])
local function unclaim()
  if st == 's' then
    redis.call('hset', KEYS[1], ARGV[1], 'q' .. rest)
    redis.call('hincrby', KEYS[2], 'sending', -1)
  end
end
if ctl == 'cancelled' then
  redis.call('hset', KEYS[1], ARGV[1], 'X')
  if st == 's' then redis.call('hincrby', KEYS[2], 'sending', -1) end
  redis.call('hincrby', KEYS[2], 'cancelled', 1)
  return {'cancelled'}
end
if ctl == 'paused' then unclaim() return {'paused'} end
local pause = redis.call('pttl', KEYS[4])
if pause > 0 then unclaim() return {'rate_limited', tostring(pause)} end
-- Hard bound: fewer than ARGV[2] claims on this channel in the last 1000 ms (Redis clock).
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zremrangebyscore', KEYS[5], '-inf', now - 1000)
if redis.call('zcard', KEYS[5]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('zrange', KEYS[5], 0, 0, 'WITHSCORES')
  unclaim()
  return {'wait', tostring(math.max(1, tonumber(oldest[2]) + 1000 - now))}
end
redis.call('zadd', KEYS[5], now, ARGV[3])
redis.call('pexpire', KEYS[5], 2000)
if st == 's' then
  redis.call('hincrby', KEYS[2], 'inFlightAtCrash', 1)
  return {'go', 'recovered'}
end
redis.call('hset', KEYS[1], ARGV[1], 's' .. rest)
redis.call('hincrby', KEYS[2], 'sending', 1)
return {'go', 'fresh'}
`;

// KEYS: states, counts, rate buckets. ARGV: contact id, code, reason field ('' for none).
const SETTLE = `
local prev = redis.call('hget', KEYS[1], ARGV[1])
if not prev or string.sub(prev, 1, 1) ~= 's' then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('hincrby', KEYS[2], 'sending', -1)
redis.call('hincrby', KEYS[2], ARGV[2], 1)
if ARGV[3] ~= '' then redis.call('hincrby', KEYS[2], ARGV[3], 1) end
local t = redis.call('time')
redis.call('hincrby', KEYS[3], t[1], 1)
redis.call('pexpire', KEYS[3], 120000)
return 1
`;

const RELEASE = `
local prev = redis.call('hget', KEYS[1], ARGV[1])
if not prev or string.sub(prev, 1, 1) ~= 's' then return 0 end
redis.call('hset', KEYS[1], ARGV[1], 'q' .. string.sub(prev, 2))
redis.call('hincrby', KEYS[2], 'sending', -1)
return 1
`;

export interface DeliveryCounts {
  total: number;
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  blocked: number;
  skipped: number;
  cancelled: number;
  inFlightAtCrash: number;
  reasons: { failed: Record<string, number>; blocked: Record<string, number>; skipped: Record<string, number> };
}

export interface QueuedRecipient {
  contactId: string;
  channel: BroadcastChannel;
  chatId: string;
  lang: 'vi' | 'en';
}

export class DeliveryStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(b: string) {
    return { states: key(this.prefix, 'bc', b, 'st'), counts: key(this.prefix, 'bc', b, 'n'), rate: key(this.prefix, 'bc', b, 'rate') };
  }

  /** Adds recipients as queued; ones already present (a repeated fan-out page) keep their state. */
  async add(b: string, rows: QueuedRecipient[]): Promise<number> {
    if (rows.length === 0) return 0;
    const k = this.keys(b);
    const args = rows.flatMap((r) => [r.contactId, `q|${r.chatId}|${r.lang}|${r.channel}`]);
    return Number(await this.redis.eval(ADD, 2, k.states, k.counts, ...args));
  }

  /**
   * The claim also enforces the channel limit as a sliding 1 s window on the Redis clock (the
   * GCRA schedule spaces sends; this is the hard bound when a late timer bunches them).
   */
  async claim(b: string, contactId: string, ctlKey: string, pauseKey: string, channel: { logKey: string; limitPerS: number }): Promise<ClaimResult> {
    const k = this.keys(b);
    const member = `${b}:${contactId}:${Math.random().toString(36).slice(2, 8)}`;
    const [kind, extra] = (await this.redis.eval(CLAIM, 5, k.states, k.counts, ctlKey, pauseKey, channel.logKey, contactId, Math.floor(channel.limitPerS), member)) as [string, string | undefined];
    if (kind === 'go') return { kind: 'go', recovered: extra === 'recovered' };
    if (kind === 'rate_limited') return { kind: 'rate_limited', ms: Number(extra) };
    if (kind === 'wait') return { kind: 'wait', ms: Number(extra) };
    return { kind: kind as 'settled' | 'cancelled' | 'paused' };
  }

  async settle(b: string, contactId: string, state: SettledState, reason: string | null): Promise<boolean> {
    const k = this.keys(b);
    const reasonField = reason && state !== 'sent' ? `r:${CODE[state]}:${reason}` : '';
    return Number(await this.redis.eval(SETTLE, 3, k.states, k.counts, k.rate, contactId, CODE[state], reasonField)) === 1;
  }

  async release(b: string, contactId: string): Promise<void> {
    const k = this.keys(b);
    await this.redis.eval(RELEASE, 2, k.states, k.counts, contactId);
  }

  async counts(b: string): Promise<DeliveryCounts> {
    const h = await this.redis.hgetall(this.keys(b).counts);
    const n = (f: string) => Number(h[f] ?? 0);
    const reasons: DeliveryCounts['reasons'] = { failed: {}, blocked: {}, skipped: {} };
    for (const [f, v] of Object.entries(h)) {
      const m = /^r:([FBK]):(.+)$/.exec(f);
      if (m) reasons[m[1] === 'F' ? 'failed' : m[1] === 'B' ? 'blocked' : 'skipped'][m[2]!] = Number(v);
    }
    const c = { total: n('total'), sending: n('sending'), sent: n('S'), failed: n('F'), blocked: n('B'), skipped: n('K'), cancelled: n('X'), inFlightAtCrash: n('inFlightAtCrash') };
    return { ...c, queued: Math.max(0, c.total - c.sending - c.sent - c.failed - c.blocked - c.skipped - c.cancelled), reasons };
  }

  /** Settled deliveries per second over the last `seconds` whole seconds. */
  async rate(b: string, seconds = 10): Promise<number> {
    const h = await this.redis.hgetall(this.keys(b).rate);
    const [sec] = (await this.redis.time()) as [string | number, string | number];
    const now = Number(sec);
    let sum = 0;
    for (let s = now - seconds; s < now; s++) sum += Number(h[String(s)] ?? 0);
    return sum / seconds;
  }

  /** Queued recipients, a page at a time (pause removes their jobs, resume re-adds them). */
  async *queued(b: string): AsyncGenerator<QueuedRecipient[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys(b).states, cursor, 'COUNT', 1000);
      cursor = next;
      const page: QueuedRecipient[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const v = flat[i + 1]!;
        if (!v.startsWith('q|')) continue;
        const [, chatId, lang, channel] = v.split('|');
        page.push({ contactId: flat[i]!, channel: channel === 'zalo' ? 'zalo' : 'telegram', chatId: chatId!, lang: lang === 'en' ? 'en' : 'vi' });
      }
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /** Marks every queued recipient cancelled (after the control key says so). */
  async cancelQueued(b: string): Promise<number> {
    const k = this.keys(b);
    let n = 0;
    for await (const page of this.queued(b)) {
      // Only still-queued fields change: a claim that won meanwhile keeps its 's'.
      const script = `local n = 0 for i = 1, #ARGV do local v = redis.call('hget', KEYS[1], ARGV[i]) if v and string.sub(v, 1, 1) == 'q' then redis.call('hset', KEYS[1], ARGV[i], 'X') n = n + 1 end end redis.call('hincrby', KEYS[2], 'X', n) return n`;
      n += Number(await this.redis.eval(script, 2, k.states, k.counts, ...page.map((p) => p.contactId)));
    }
    return n;
  }

  /** Keeps a finished broadcast's state a week more, then Redis forgets it (the report is in MongoDB). */
  async expire(b: string, seconds = 7 * 24 * 3600): Promise<void> {
    const k = this.keys(b);
    await this.redis.multi().expire(k.states, seconds).expire(k.counts, seconds).exec();
  }
}
