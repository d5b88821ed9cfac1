import type { Env } from '../../config/env';
import type { BroadcastChannel } from '../../models/broadcast';

/** Telegram's free overall limit (bots FAQ: ~30 messages/s). */
export const TELEGRAM_FREE_LIMIT_PER_S = 30;

/**
 * How long a send that never reported back (its worker died mid-call) keeps its rate slot: longer
 * than any platform call can take, so a slow reply is never mistaken for a dead worker.
 */
export const UNSETTLED_SLOT_MS = 60_000;

export interface ChannelLimit {
  /** The configured limit, sends per second (never exceeded as the platform counts). */
  limitPerS: number;
  /** Concurrent jobs per worker process: enough to keep the schedule full at ~150 ms per send. */
  concurrency: number;
}

/**
 * Broadcast limits per channel from config. Telegram: TELEGRAM_BROADCAST_RATE_PER_S, capped at
 * the overall limit (30/s, or the paid limit with TELEGRAM_PAID_BROADCAST) minus the conversation
 * reserve, so survey replies always have room. Zalo: ZALO_BROADCAST_RATE_PER_MIN, capped below
 * the app's shared limit minus the same share kept for conversations.
 */
export function channelLimits(env: Env): Record<BroadcastChannel, ChannelLimit> {
  const overall = env.TELEGRAM_PAID_BROADCAST
    ? env.TELEGRAM_PAID_BROADCAST_LIMIT_PER_S
    : TELEGRAM_FREE_LIMIT_PER_S;
  const telegram = Math.max(
    1,
    Math.min(env.TELEGRAM_BROADCAST_RATE_PER_S, overall - env.TELEGRAM_CONVERSATION_RESERVE_PER_S),
  );
  const zaloPerMin = Math.max(
    1,
    Math.min(env.ZALO_BROADCAST_RATE_PER_MIN, env.ZALO_RATE_LIMIT_PER_MIN * 0.75),
  );
  return {
    telegram: { limitPerS: telegram, concurrency: concurrencyFor(telegram) },
    zalo: { limitPerS: zaloPerMin / 60, concurrency: concurrencyFor(zaloPerMin / 60) },
  };
}

/** Little's law: sends in flight = rate × time per send (~150 ms to the real Bot API), plus slack. */
export function concurrencyFor(limitPerS: number): number {
  return Math.min(300, Math.ceil(limitPerS * 0.15) + 2);
}

/**
 * The window a channel's limit is counted over: Telegram documents a per-second limit, Zalo a
 * per-minute one (4,000 requests/min per app).
 */
export function rateWindow(channel: BroadcastChannel, limitPerS: number): { max: number; periodMs: number } {
  return channel === 'zalo'
    ? { max: Math.max(1, Math.floor(limitPerS * 60 + 1e-9)), periodMs: 60_000 }
    : { max: Math.max(1, Math.floor(limitPerS + 1e-9)), periodMs: 1000 };
}

/**
 * The share of the limit the bound allows at most: each send holds its slot for its own call time
 * plus 1 s plus the margin, so with calls of `callMs` the channel reaches
 * limit × 1000 / (1000 + margin + callMs).
 */
export function maxShareOfLimit(marginMs: number, callMs: number): number {
  return 1000 / (1000 + marginMs + callMs);
}
