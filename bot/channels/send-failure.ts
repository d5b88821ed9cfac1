/**
 * Why a call to a chat platform failed, by what the caller must do about it. Each channel folder
 * exports the one function that sorts its platform's errors into these (telegram/errors.ts
 * `classifyTelegramError`, zalo/errors.ts `classifyZaloError`); replies, invitations, reminders,
 * broadcasts, digests and case notifications all act on this, never on a platform's error shape.
 */
export type SendFailure =
  /** The platform asked everybody to slow down: wait `retryAfterMs` (pause the channel), then retry. */
  | { kind: 'rate_limited'; retryAfterMs: number }
  /** The recipient is gone for good (blocked us, deactivated, unknown): mark the contact, never retry. */
  | { kind: 'dead'; reason: string; mark: 'unsubscribed' | 'blocked' }
  /** Refused for this message or recipient (bad request, outside a window): retrying cannot help. */
  | { kind: 'refused'; reason: string }
  /** Unreachable, 5xx, network, an expired token: retry with backoff. */
  | { kind: 'transient'; reason: string };

/** The `refused` reason of a Zalo consultation message outside the 7-day window. */
export const ZALO_OUTSIDE_WINDOW = 'zalo_outside_window';
