import type { Redis } from 'ioredis';
import { key } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';
import { optOutKey } from './opt-outs';

/**
 * Per-recipient delivery state of a broadcast, in Redis beside its jobs (the send path makes no
 * MongoDB call: a database write per send would cap a broadcast far below the platform limits).
 * One hash per broadcast, contact id → state:
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
  /** Claimed, and its rate slot taken: start the platform call in `waitMs`, not before. */
  | { kind: 'go'; recovered: boolean; waitMs: number; slot: string }
  | { kind: 'settled' }
  /** The recipient opted out since the broadcast began (opt-outs.ts): settled as skipped. */
  | { kind: 'skipped' }
  | { kind: 'cancelled' }
  | { kind: 'paused' }
  | { kind: 'rate_limited'; ms: number }
  /** Every slot is held by calls still in flight: claim again in `ms`. */
  | { kind: 'wait'; ms: number };

/** What the claim needs of the channel's limiter (limiter.ts explains the bound). */
export interface SlotLimiter {
  pauseKey: string;
  logKey: string;
  tatKey: string;
  limit: number;
  windowMs: number;
  intervalMs: number;
  unsettledMs: number;
}

const ADD = `
local n = 0
for i = 1, #ARGV, 2 do n = n + redis.call('hsetnx', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('hincrby', KEYS[2], 'total', n)
return n
`;

// KEYS: states, counts, ctl, channel pause, channel send log, channel schedule (tat), opt-out log.
// ARGV: contact id, limit, window ms, interval ms, unsettled ms, log member, opt-outs count from (ms).
// The delivery moves queued → sending and its rate slot is taken in the same script, so a claim
// that is refused (cancelled, paused, 429 pause) never holds a slot and a slot never outlives
// its claim by more than the call.
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
  redis.call('hincrby', KEYS[2], 'X', 1)
  return {'cancelled'}
end
if ctl == 'paused' then unclaim() return {'paused'} end
-- Opted out since the broadcast began (opt-outs.ts): skipped, never sent.
local out = redis.call('zscore', KEYS[7], ARGV[1])
if out and tonumber(out) >= tonumber(ARGV[7]) then
  redis.call('hset', KEYS[1], ARGV[1], 'K')
  if st == 's' then redis.call('hincrby', KEYS[2], 'sending', -1) end
  redis.call('hincrby', KEYS[2], 'K', 1)
  redis.call('hincrby', KEYS[2], 'r:K:unsubscribed', 1)
  return {'skipped'}
end
local pause = redis.call('pttl', KEYS[4])
if pause > 0 then unclaim() return {'rate_limited', tostring(pause)} end
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
-- Slots whose hold ended can never share a platform window with a call starting now or later.
redis.call('zremrangebyscore', KEYS[5], '-inf', string.format('(%.3f', now - window))
local slot = tonumber(redis.call('get', KEYS[6]) or '0')
if slot < now then slot = now end
local held = redis.call('zcount', KEYS[5], string.format('(%.3f', slot - window), '+inf')
if held >= limit then
  -- The (held - limit + 1)-th earliest hold to end: once it is a window old, a slot is free.
  local row = redis.call('zrangebyscore', KEYS[5], string.format('(%.3f', slot - window), '+inf', 'WITHSCORES', 'LIMIT', held - limit, 1)
  local ends = tonumber(row[2])
  if ends > now then
    -- Still in flight (its end is unknown): try again shortly.
    unclaim()
    return {'wait', tostring(math.max(1, math.min(50, math.ceil(tonumber(ARGV[4])))))}
  end
  slot = ends + window
end
redis.call('set', KEYS[6], string.format('%.3f', slot + tonumber(ARGV[4])), 'PX', 3600000)
redis.call('zadd', KEYS[5], string.format('%.3f', slot + tonumber(ARGV[5])), ARGV[6])
redis.call('pexpire', KEYS[5], math.ceil(tonumber(ARGV[5]) + window + 60000))
local wait = string.format('%.3f', slot - now)
if st == 's' then
  redis.call('hincrby', KEYS[2], 'inFlightAtCrash', 1)
  return {'go', 'recovered', wait}
end
redis.call('hset', KEYS[1], ARGV[1], 's' .. rest)
redis.call('hincrby', KEYS[2], 'sending', 1)
return {'go', 'fresh', wait}
`;

// The end of a platform call: its slot is held one window past the moment its reply reached us
// (the platform stamped the request before that). `ago` is how long before this call that was,
// measured by the worker: this script runs after the worker sent it, so now − ago is never
// earlier than the reply. A claim that never called the platform gives its slot back ('-1').
const END_SLOT = `
local function endSlot(log, member, ago)
  if member == '' then return end
  if ago == '-1' then
    redis.call('zrem', log, member)
  else
    local t = redis.call('time')
    local ends = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 - tonumber(ago)
    redis.call('zadd', log, string.format('%.3f', ends), member)
  end
end
`;

// KEYS: states, counts, rate buckets, send log. ARGV: contact id, code, reason field ('' for
// none), log member ('' for none), ms since the platform's reply ('-1': not called).
const SETTLE = `${END_SLOT}
endSlot(KEYS[4], ARGV[4], ARGV[5])
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

// KEYS: states, counts, send log. ARGV: contact id, log member, ms since the reply ('-1': not called).
const RELEASE = `${END_SLOT}
endSlot(KEYS[3], ARGV[2], ARGV[3])
local prev = redis.call('hget', KEYS[1], ARGV[1])
if not prev or string.sub(prev, 1, 1) ~= 's' then return 0 end
redis.call('hset', KEYS[1], ARGV[1], 'q' .. string.sub(prev, 2))
redis.call('hincrby', KEYS[2], 'sending', -1)
return 1
`;

/** A held rate slot: ended (platform called) or given back (not called) when the delivery settles. */
export interface HeldSlot {
  logKey: string;
  member: string;
  /** performance.now() when the platform's reply (or error) reached us; null: not called. */
  repliedAt: number | null;
}

/** Milliseconds since the reply, as the end-slot script takes it. */
function ago(slot: HeldSlot | null): string {
  if (!slot || slot.repliedAt === null) return '-1';
  return Math.max(0, performance.now() - slot.repliedAt).toFixed(3);
}

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;
const SCRIPTS = { bcAdd: [2, ADD], bcClaim: [7, CLAIM], bcSettle: [4, SETTLE], bcRelease: [3, RELEASE] } as const;

/** The scripts as commands of the connection (EVALSHA: the script text is not sent per call). */
function scripts(redis: Redis): Record<keyof typeof SCRIPTS, ScriptFn> {
  const r = redis as unknown as Record<string, ScriptFn | undefined>;
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) {
    if (typeof r[name] !== 'function') redis.defineCommand(name, { numberOfKeys, lua });
  }
  return r as unknown as Record<keyof typeof SCRIPTS, ScriptFn>;
}

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
  private readonly run: Record<keyof typeof SCRIPTS, ScriptFn>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.run = scripts(redis);
  }

  private keys(b: string) {
    return { states: key(this.prefix, 'bc', b, 'st'), counts: key(this.prefix, 'bc', b, 'n'), rate: key(this.prefix, 'bc', b, 'rate') };
  }

  /** Adds recipients as queued; ones already present (a repeated fan-out page) keep their state. */
  async add(b: string, rows: QueuedRecipient[]): Promise<number> {
    if (rows.length === 0) return 0;
    const k = this.keys(b);
    const args = rows.flatMap((r) => [r.contactId, `q|${r.chatId}|${r.lang}|${r.channel}`]);
    return Number(await this.run.bcAdd(k.states, k.counts, ...args));
  }

  /**
   * Claims the delivery and takes its rate slot (limiter.ts): `go` says how long to wait before
   * the platform call; the returned slot must be passed to settle/release. A recipient in the
   * opt-out log from `optOutsFrom` (ms) on is settled as skipped instead (opt-outs.ts).
   */
  async claim(b: string, contactId: string, ctlKey: string, limiter: SlotLimiter, optOutsFrom: number): Promise<ClaimResult> {
    const k = this.keys(b);
    const member = `${b}:${contactId}:${Math.random().toString(36).slice(2, 10)}`;
    const [kind, extra, wait] = (await this.run.bcClaim(
      k.states, k.counts, ctlKey, limiter.pauseKey, limiter.logKey, limiter.tatKey, optOutKey(this.prefix),
      contactId, limiter.limit, limiter.windowMs, limiter.intervalMs.toFixed(3), limiter.unsettledMs, member, optOutsFrom,
    )) as [string, string | undefined, string | undefined];
    if (kind === 'go') return { kind: 'go', recovered: extra === 'recovered', waitMs: Number(wait), slot: member };
    if (kind === 'rate_limited') return { kind: 'rate_limited', ms: Number(extra) };
    if (kind === 'wait') return { kind: 'wait', ms: Number(extra) };
    return { kind: kind as 'settled' | 'skipped' | 'cancelled' | 'paused' };
  }

  async settle(b: string, contactId: string, state: SettledState, reason: string | null, slot: HeldSlot | null = null): Promise<boolean> {
    const k = this.keys(b);
    const reasonField = reason && state !== 'sent' ? `r:${CODE[state]}:${reason}` : '';
    const log = slot?.logKey ?? k.rate;
    return Number(await this.run.bcSettle(k.states, k.counts, k.rate, log, contactId, CODE[state], reasonField, slot?.member ?? '', ago(slot))) === 1;
  }

  async release(b: string, contactId: string, slot: HeldSlot | null = null): Promise<void> {
    const k = this.keys(b);
    await this.run.bcRelease(k.states, k.counts, slot?.logKey ?? k.states, contactId, slot?.member ?? '', ago(slot));
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
