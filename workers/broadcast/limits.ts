import type { Env } from '../../config/env';
import type { BroadcastChannel } from '../../models/broadcast';

/** Telegram's free overall limit (bots FAQ: ~30 messages/s). */
export const TELEGRAM_FREE_LIMIT_PER_S = 30;
/**
 * The schedule runs this far below the configured limit: L sends are spread over 1,050 ms, so a
 * 1 s window measured by the platform holds at most L sends even when a send's latency varies by
 * up to 50 ms (timer lateness, event-loop pauses, network). 95.2% of the limit at most.
 */
export const JITTER_ALLOWANCE_MS = 50;
export const SCHEDULE_FACTOR = 1000 / (1000 + JITTER_ALLOWANCE_MS);

export interface ChannelLimit {
  /** The configured limit, sends per second (never exceeded). */
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
  const overall = env.TELEGRAM_PAID_BROADCAST ? env.TELEGRAM_PAID_BROADCAST_LIMIT_PER_S : TELEGRAM_FREE_LIMIT_PER_S;
  const telegram = Math.max(1, Math.min(env.TELEGRAM_BROADCAST_RATE_PER_S, overall - env.TELEGRAM_CONVERSATION_RESERVE_PER_S));
  const zaloPerMin = Math.max(1, Math.min(env.ZALO_BROADCAST_RATE_PER_MIN, env.ZALO_RATE_LIMIT_PER_MIN * 0.75));
  return {
    telegram: { limitPerS: telegram, concurrency: concurrencyFor(telegram) },
    zalo: { limitPerS: zaloPerMin / 60, concurrency: concurrencyFor(zaloPerMin / 60) },
  };
}

/** Little's law: sends in flight = rate × time per send (~150 ms to the real Bot API), plus slack. */
export function concurrencyFor(limitPerS: number): number {
  return Math.min(300, Math.ceil(limitPerS * 0.15) + 2);
}
