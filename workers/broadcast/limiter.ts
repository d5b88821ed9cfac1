import { key, type RedisClient } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';
import { UNSETTLED_SLOT_MS } from './limits';

/**
 * One send-rate limiter per broadcast channel, shared by every worker process through Redis
 * (Redis clock). The bound holds as the platform counts, whatever our latency:
 *
 * - Every platform call holds a slot in a sorted set (the send log) from the moment it may start
 *   until its reply has been seen, plus the platform's window (1 s on Telegram, 1 min on Zalo) plus `marginMs`. The platform stamps a request between
 *   our call and its reply, so two calls whose slots do not overlap that way can never fall in
 *   one of its windows: at most `limit` slots at a time means at most `limit` per platform
 *   window, with no assumption on timer lateness, event-loop pauses or network delay.
 * - The slot is taken in the claim script (DeliveryStore.claim) at a start time on a GCRA
 *   schedule `(window + margin) / limit` ms apart (smooth, no bursts); when the log is full the
 *   claim computes the first instant a slot frees and schedules the send there, so no job polls.
 * - A call that never reports back (worker killed) keeps its slot UNSETTLED_SLOT_MS.
 * - A 429 sets a pause key every claim honours and pushes the schedule past it.
 */
const PAUSE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local ms = tonumber(ARGV[1])
local current = redis.call('pttl', KEYS[2])
if current < ms then redis.call('set', KEYS[2], '1', 'PX', ms) end
local tat = tonumber(redis.call('get', KEYS[1]) or '0')
if tat < now + ms then redis.call('set', KEYS[1], string.format('%.3f', now + ms), 'PX', 3600000) end
return 1
`;

export interface LimiterParams {
  /** At most this many platform calls… */
  max: number;
  /** …in any window of this length as the platform counts (Telegram: 1 s; Zalo: 1 min). */
  periodMs: number;
  /** Safety margin added to the window (BROADCAST_RATE_MARGIN_MS). */
  marginMs: number;
}

export class ChannelLimiter {
  readonly tatKey: string;
  readonly pauseKey: string;
  /** The send log: member per platform call, score = end of its slot's hold (see above). */
  readonly logKey: string;
  /** How long a slot is held after its call ended. */
  readonly windowMs: number;
  /** GCRA spacing of scheduled starts. */
  readonly intervalMs: number;
  readonly unsettledMs = UNSETTLED_SLOT_MS;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly channel: BroadcastChannel,
    readonly params: LimiterParams,
  ) {
    this.windowMs = params.periodMs + params.marginMs;
    this.intervalMs = this.windowMs / this.limit;
    this.tatKey = key(prefix, 'bc', 'rl', channel, 'tat');
    this.pauseKey = key(prefix, 'bc', 'rl', channel, 'pause');
    this.logKey = key(prefix, 'bc', 'rl', channel, 'log');
  }

  /** Whole sends per window (a fractional limit rounds down; at least 1). */
  get limit(): number {
    return Math.max(1, Math.floor(this.params.max));
  }

  /** After a 429: nobody on this channel sends for `ms`, and the schedule restarts after it. */
  async pause(ms: number): Promise<void> {
    await this.redis.eval(PAUSE, 2, this.tatKey, this.pauseKey, Math.max(1, Math.round(ms)));
  }

  async pausedFor(): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.pauseKey));
  }
}
