import type { SendFailure } from '../send-failure';

/**
 * Errors by cause (as grammY does): the platform refused (permanent), the platform was
 * unreachable or failed (transient), the platform asked us to slow down (rate limited).
 */
export class TelegramRefusedError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly description: string,
  ) {
    super(`Telegram refused ${method}: ${code} ${description}`);
    this.name = 'TelegramRefusedError';
  }
}

export class TelegramUnreachableError extends Error {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {
    super(`Telegram unreachable for ${method}: ${reason}`);
    this.name = 'TelegramUnreachableError';
  }
}

export class TelegramRateLimitedError extends Error {
  constructor(
    readonly method: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`Telegram rate limited ${method}: retry after ${retryAfterSeconds}s`);
    this.name = 'TelegramRateLimitedError';
  }
}

/** The Bot API's error answer (`{ ok: false, error_code, description, parameters }`), as telegraf keeps it. */
export interface BotApiErrorBody {
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

type TelegramError = TelegramRefusedError | TelegramUnreachableError | TelegramRateLimitedError;

/**
 * The Bot API's answer as one of our errors: 429 is rate limited (`retry_after` seconds), any
 * other 4xx refused, a 5xx or no answer at all (`body` undefined: network) unreachable.
 */
export function telegramErrorOf(
  method: string,
  body: BotApiErrorBody | undefined,
  cause?: unknown,
): TelegramError {
  const code = body?.error_code;
  if (code === 429) return new TelegramRateLimitedError(method, body?.parameters?.retry_after ?? 1);
  if (typeof code === 'number' && code < 500)
    return new TelegramRefusedError(method, code, body?.description ?? 'refused');
  const reason =
    typeof code === 'number'
      ? `${code} ${body?.description ?? ''}`.trim()
      : cause instanceof Error
        ? cause.message
        : 'no answer';
  return new TelegramUnreachableError(method, reason);
}

const DEAD: ReadonlyArray<[RegExp, string]> = [
  [/bot was blocked by the user/i, 'blocked'],
  [/user is deactivated/i, 'deactivated'],
  [/bot was kicked/i, 'kicked'],
  [/chat not found/i, 'chat_not_found'],
  [/bot can't initiate conversation/i, 'chat_not_found'],
];

/**
 * The one rule for a failed Telegram call. Takes our errors (bot/channels/telegram/api-client.ts
 * throws nothing else) and telegraf's raw `TelegramError` (its `response` is the Bot API's body).
 * Dead recipients are recognised by the description strings the Bot API server sends.
 */
export function classifyTelegramError(err: unknown): SendFailure {
  const raw = (err as { response?: unknown } | null)?.response;
  const e =
    err instanceof TelegramRefusedError ||
    err instanceof TelegramUnreachableError ||
    err instanceof TelegramRateLimitedError
      ? err
      : raw && typeof raw === 'object' && typeof (raw as BotApiErrorBody).error_code === 'number'
        ? telegramErrorOf('unknown', raw as BotApiErrorBody)
        : null;
  if (e instanceof TelegramRateLimitedError)
    return { kind: 'rate_limited', retryAfterMs: e.retryAfterSeconds * 1000 };
  if (e instanceof TelegramRefusedError) {
    const dead = e.code === 403 || e.code === 400 ? DEAD.find(([re]) => re.test(e.description)) : undefined;
    if (dead) return { kind: 'dead', reason: dead[1], mark: 'blocked' };
    return { kind: 'refused', reason: `telegram_${e.code}` };
  }
  return { kind: 'transient', reason: err instanceof Error ? err.name : 'unknown' };
}
