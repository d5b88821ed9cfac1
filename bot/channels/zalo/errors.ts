import { ZALO_OUTSIDE_WINDOW, type SendFailure } from '../send-failure';

/**
 * Zalo answers most failures with HTTP 200 and `error != 0`. Every documented code
 * (docs/platform-limits.md) maps to one cause, and the cause decides what we do: retry, refresh,
 * back off, mark the contact, fall back to a template, or report the phone as unreachable on Zalo.
 */
export type ZaloErrorCause =
  /** The request can never succeed as sent (bad field, template not approved, OA tier...). */
  | 'permanent'
  /** Zalo unreachable, 5xx, or a quota that refills: retry later with backoff. */
  | 'transient'
  /** -32: 4000 requests/min per app reached: pause all outbound traffic, then retry. */
  | 'rate_limited'
  /** -216/-220/-124: refresh the access token and retry once. */
  | 'token_expired'
  /** -230/-232: no interaction in 7 days: a consultation message is not allowed, use a template. */
  | 'out_of_window'
  /** -213/-227/-244/-114/-119: this user cannot or does not want to receive: mark the contact. */
  | 'recipient_unavailable'
  /** -118: the phone number has no Zalo account: another channel must be used. */
  | 'no_zalo_account';

interface CodeInfo {
  cause: ZaloErrorCause;
  /** What the contact is marked with, for recipient_unavailable (every such code has one). */
  mark?: 'unsubscribed' | 'blocked';
}

export const ZALO_ERROR_CODES: Readonly<Record<number, CodeInfo>> = Object.freeze({
  [-32]: { cause: 'rate_limited' },
  [-100]: { cause: 'permanent' }, // attachment expired (7 d)
  [-108]: { cause: 'permanent' }, // phone invalid
  [-114]: { cause: 'recipient_unavailable', mark: 'blocked' }, // user cannot receive (ZNS)
  [-115]: { cause: 'transient' }, // out of quota/balance: refills when funded
  [-118]: { cause: 'no_zalo_account' },
  [-119]: { cause: 'recipient_unavailable', mark: 'blocked' }, // account cannot receive
  [-124]: { cause: 'token_expired' },
  [-131]: { cause: 'permanent' }, // template not approved
  [-133]: { cause: 'transient' }, // no sending 22h-6h: retry after the night
  [-144]: { cause: 'transient' }, // daily limit: tomorrow
  [-146]: { cause: 'permanent' }, // template disabled
  [-201]: { cause: 'permanent' }, // <field> is invalid
  [-211]: { cause: 'transient' }, // out of quota
  [-213]: { cause: 'recipient_unavailable', mark: 'unsubscribed' }, // not following the OA
  [-216]: { cause: 'token_expired' },
  [-218]: { cause: 'transient' }, // out of quota receive
  [-220]: { cause: 'token_expired' },
  [-221]: { cause: 'permanent' }, // OA not verified
  [-223]: { cause: 'permanent' }, // OA has not authorized this API
  [-224]: { cause: 'permanent' }, // upgrade OA tier
  [-227]: { cause: 'recipient_unavailable', mark: 'blocked' }, // banned or inactive > 45 d
  [-230]: { cause: 'out_of_window' },
  [-232]: { cause: 'out_of_window' },
  [-234]: { cause: 'transient' }, // promotion blocked at night
  [-235]: { cause: 'permanent' }, // API not for this OA type
  [-240]: { cause: 'permanent' }, // v2 send retired
  [-244]: { cause: 'recipient_unavailable', mark: 'blocked' }, // user restricted this message type
  [-249]: { cause: 'permanent' }, // template not sendable by UID
  [-320]: { cause: 'permanent' }, // no Zalo Cloud Account
  [-321]: { cause: 'permanent' }, // empty Zalo Cloud Account
  [-14003]: { cause: 'permanent' }, // OAuth: bad redirect
});

/** Undocumented codes are permanent: retrying an unknown refusal only burns quota. */
export function classifyZaloCode(code: number): CodeInfo {
  return ZALO_ERROR_CODES[code] ?? { cause: 'permanent' };
}

/** Zalo answered and refused (HTTP 200 with error != 0, or an OAuth error). */
export class ZaloApiError extends Error {
  readonly reason: ZaloErrorCause;
  readonly mark: 'unsubscribed' | 'blocked' | undefined;
  constructor(
    readonly code: number,
    readonly endpoint: string,
    description: string,
  ) {
    super(`Zalo ${endpoint} refused: ${code} ${description}`);
    this.name = 'ZaloApiError';
    const info = classifyZaloCode(code);
    this.reason = info.cause;
    this.mark = info.mark;
  }
}

/** Zalo could not be reached, timed out or answered 5xx / non-JSON: always transient. */
export class ZaloHttpError extends Error {
  readonly reason: ZaloErrorCause = 'transient';
  constructor(
    readonly endpoint: string,
    readonly status: number | null,
    description: string,
  ) {
    super(`Zalo ${endpoint} unreachable: ${status ?? 'no response'} ${description}`);
    this.name = 'ZaloHttpError';
  }
}

/** The channel has no usable token (never connected, or a refresh failed): an operator must act. */
export class ZaloTokenError extends Error {
  readonly reason: ZaloErrorCause = 'permanent';
  constructor(message: string) {
    super(message);
    this.name = 'ZaloTokenError';
  }
}

/** Our own limiter (rate-limiter.ts) would make this call wait longer than allowed: retry later. */
export class ZaloRateLimitedError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Zalo rate limit: retry in ${retryAfterMs} ms`);
    this.name = 'ZaloRateLimitedError';
  }
}

/** How long everybody waits after Zalo's own -32 (a per-minute quota). */
const ZALO_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * The one rule for a failed Zalo call, in the causes every channel shares. The finer cause
 * (`ZaloApiError.reason`) stays for the Zalo client's own steps: refreshing a token, falling back
 * to a template outside the window.
 */
export function classifyZaloError(err: unknown): SendFailure {
  if (err instanceof ZaloRateLimitedError) return { kind: 'rate_limited', retryAfterMs: err.retryAfterMs };
  if (err instanceof ZaloApiError) {
    switch (err.reason) {
      case 'rate_limited':
        return { kind: 'rate_limited', retryAfterMs: ZALO_RATE_LIMIT_WAIT_MS };
      case 'recipient_unavailable':
        return { kind: 'dead', reason: `zalo_${err.code}`, mark: err.mark ?? 'blocked' };
      case 'transient':
      case 'token_expired':
        return { kind: 'transient', reason: `zalo_${err.code}` };
      case 'out_of_window':
        return { kind: 'refused', reason: ZALO_OUTSIDE_WINDOW };
      case 'permanent':
      case 'no_zalo_account':
        return { kind: 'refused', reason: `zalo_${err.code}` };
    }
  }
  // ZaloHttpError, ZaloTokenError (an operator reconnects the OA) and anything else: retry later.
  return { kind: 'transient', reason: err instanceof Error ? err.name : 'unknown' };
}
