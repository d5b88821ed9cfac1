import type { Redis } from 'ioredis';
import { key } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';

/**
 * One send-rate limiter per channel, shared by every broadcast worker process through Redis.
 *
 * GCRA (a virtual schedule): each send reserves the next slot `interval` ms after the previous
 * one, so sends are evenly spaced and no 1 s window ever holds more than the limit (BullMQ's own
 * limiter counts fixed windows and releases its jobs in bursts; it stays on as a backstop and as
 * the switch that stops fetching during a 429 pause). A 429 sets a pause key that every process
 * honours and pushes the schedule past it, so sends resume at the limit, not as a burst.
 *
 * Clock: Redis TIME, so processes on different hosts share one timeline.
 */
const RESERVE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local pause = redis.call('pttl', KEYS[2])
if pause > 0 then return {1, pause} end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('get', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('set', KEYS[1], string.format('%.3f', tat + interval), 'PX', 3600000)
return {0, math.floor((tat - now) * 1000)}
`;

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

export type Reservation = { kind: 'slot'; waitMs: number } | { kind: 'paused'; ms: number };

export class ChannelLimiter {
  readonly intervalMs: number;
  private readonly tatKey: string;
  readonly pauseKey: string;
  /** Sliding log of claims in the last second (the hard bound, see DeliveryStore.claim). */
  readonly logKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly channel: BroadcastChannel,
    /** Sends per second this limiter schedules (already below the configured limit, see limits.ts). */
    readonly ratePerS: number,
    /** The configured limit: never more claims than this in any 1 s window. */
    readonly limitPerS: number = ratePerS,
  ) {
    this.intervalMs = 1000 / ratePerS;
    this.tatKey = key(prefix, 'bc', 'rl', channel, 'tat');
    this.pauseKey = key(prefix, 'bc', 'rl', channel, 'pause');
    this.logKey = key(prefix, 'bc', 'rl', channel, 'log');
  }

  /** Reserves the next send slot: how long to wait for it, or how long the channel is paused. */
  async reserve(): Promise<Reservation> {
    const [paused, value] = (await this.redis.eval(RESERVE, 2, this.tatKey, this.pauseKey, this.intervalMs.toFixed(6))) as [number, number];
    return paused === 1 ? { kind: 'paused', ms: value } : { kind: 'slot', waitMs: value / 1000 };
  }

  /** After a 429: nobody on this channel sends for `ms`, and the schedule restarts after it. */
  async pause(ms: number): Promise<void> {
    await this.redis.eval(PAUSE, 2, this.tatKey, this.pauseKey, Math.max(1, Math.round(ms)));
  }

  async pausedFor(): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.pauseKey));
  }
}
