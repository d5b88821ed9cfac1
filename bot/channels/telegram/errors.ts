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

const DEAD = [
  /bot was blocked by the user/i,
  /user is deactivated/i,
  /bot was kicked/i,
  /chat not found/i,
  /bot can't initiate conversation/i,
];

/** The recipient is gone for good (blocked, deactivated, kicked, unknown chat): never retry. */
export function isDeadRecipient(err: unknown): boolean {
  return (
    err instanceof TelegramRefusedError &&
    (err.code === 403 || err.code === 400) &&
    DEAD.some((re) => re.test(err.description))
  );
}
