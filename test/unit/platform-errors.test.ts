import {
  classifyTelegramError,
  TelegramRateLimitedError,
  TelegramRefusedError,
  TelegramUnreachableError,
  telegramErrorOf,
} from '../../bot/channels/telegram/errors';
import {
  classifyZaloError,
  ZaloApiError,
  ZaloHttpError,
  ZaloRateLimitedError,
  ZaloTokenError,
} from '../../bot/channels/zalo/errors';

/** telegraf's TelegramError keeps the Bot API's error answer as `response`. */
const telegrafError = (response: object) => Object.assign(new Error('telegraf'), { response });

describe('Telegram: one classifier', () => {
  test('sorts Telegram failures by cause', () => {
    expect(classifyTelegramError(new TelegramRateLimitedError('sendMessage', 3))).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 3000,
    });
    expect(
      classifyTelegramError(
        new TelegramRefusedError('sendMessage', 403, 'Forbidden: bot was blocked by the user'),
      ),
    ).toEqual({ kind: 'dead', reason: 'blocked', mark: 'blocked' });
    expect(
      classifyTelegramError(new TelegramRefusedError('sendMessage', 400, 'Bad Request: chat not found')),
    ).toMatchObject({ kind: 'dead', reason: 'chat_not_found' });
    expect(
      classifyTelegramError(
        new TelegramRefusedError('sendMessage', 400, "Bad Request: can't parse entities"),
      ),
    ).toEqual({ kind: 'refused', reason: 'telegram_400' });
    expect(classifyTelegramError(new TelegramUnreachableError('sendMessage', '502'))).toMatchObject({
      kind: 'transient',
    });
  });

  test("the Bot API's documented error answers, as telegraf hands them over", () => {
    const tooMany = {
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 34',
      parameters: { retry_after: 34 },
    };
    expect(classifyTelegramError(telegrafError(tooMany))).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 34_000,
    });
    const gone: Array<[number, string, string]> = [
      [403, 'Forbidden: bot was blocked by the user', 'blocked'],
      [403, 'Forbidden: user is deactivated', 'deactivated'],
      [400, 'Bad Request: chat not found', 'chat_not_found'],
      [403, 'Forbidden: bot was kicked from the group chat', 'kicked'],
    ];
    for (const [error_code, description, reason] of gone)
      expect(classifyTelegramError(telegrafError({ ok: false, error_code, description }))).toEqual({
        kind: 'dead',
        reason,
        mark: 'blocked',
      });
    expect(
      classifyTelegramError(
        telegrafError({ ok: false, error_code: 400, description: 'Bad Request: message is not modified' }),
      ),
    ).toEqual({ kind: 'refused', reason: 'telegram_400' });
    expect(
      classifyTelegramError(telegrafError({ ok: false, error_code: 502, description: 'Bad Gateway' })),
    ).toMatchObject({ kind: 'transient' });
    // No answer at all (a network error) and errors of our own code are transient, never a refusal.
    expect(classifyTelegramError(new Error('ECONNRESET'))).toMatchObject({ kind: 'transient' });
    expect(classifyTelegramError(undefined)).toMatchObject({ kind: 'transient' });
  });

  test('the API client and the classifier read the Bot API answer by the same rule', () => {
    expect(
      telegramErrorOf('sendMessage', { error_code: 429, parameters: { retry_after: 5 } }),
    ).toBeInstanceOf(TelegramRateLimitedError);
    expect(telegramErrorOf('sendMessage', { error_code: 403, description: 'Forbidden' })).toBeInstanceOf(
      TelegramRefusedError,
    );
    expect(telegramErrorOf('sendMessage', { error_code: 500, description: 'Internal' })).toBeInstanceOf(
      TelegramUnreachableError,
    );
    expect(telegramErrorOf('sendMessage', undefined, new Error('socket hang up'))).toMatchObject({
      reason: 'socket hang up',
    });
  });
});

describe('Zalo: one classifier', () => {
  const api = (code: number) => new ZaloApiError(code, 'message/cs', 'refused');

  test('HTTP 200 with error != 0: each documented code gets its cause', () => {
    expect(classifyZaloError(api(-32))).toEqual({ kind: 'rate_limited', retryAfterMs: 60_000 });
    expect(classifyZaloError(api(-230))).toEqual({ kind: 'refused', reason: 'zalo_outside_window' });
    expect(classifyZaloError(api(-232))).toEqual({ kind: 'refused', reason: 'zalo_outside_window' });
    expect(classifyZaloError(api(-213))).toEqual({ kind: 'dead', reason: 'zalo_-213', mark: 'unsubscribed' });
    expect(classifyZaloError(api(-227))).toEqual({ kind: 'dead', reason: 'zalo_-227', mark: 'blocked' });
    expect(classifyZaloError(api(-244))).toEqual({ kind: 'dead', reason: 'zalo_-244', mark: 'blocked' });
    expect(classifyZaloError(api(-119))).toEqual({ kind: 'dead', reason: 'zalo_-119', mark: 'blocked' });
    expect(classifyZaloError(api(-114))).toEqual({ kind: 'dead', reason: 'zalo_-114', mark: 'blocked' });
    expect(classifyZaloError(api(-118))).toEqual({ kind: 'refused', reason: 'zalo_-118' });
    expect(classifyZaloError(api(-224))).toEqual({ kind: 'refused', reason: 'zalo_-224' });
    expect(classifyZaloError(api(-201))).toEqual({ kind: 'refused', reason: 'zalo_-201' });
    expect(classifyZaloError(api(-144))).toEqual({ kind: 'transient', reason: 'zalo_-144' });
    expect(classifyZaloError(api(-216))).toEqual({ kind: 'transient', reason: 'zalo_-216' });
    // An undocumented code is a refusal: retrying an unknown refusal only burns quota.
    expect(classifyZaloError(api(-99999))).toEqual({ kind: 'refused', reason: 'zalo_-99999' });
  });

  test('unreachable, 5xx, our own limiter and a missing token', () => {
    expect(classifyZaloError(new ZaloHttpError('message/cs', 502, 'bad gateway'))).toEqual({
      kind: 'transient',
      reason: 'ZaloHttpError',
    });
    expect(classifyZaloError(new ZaloHttpError('message/cs', null, 'ETIMEDOUT'))).toMatchObject({
      kind: 'transient',
    });
    expect(classifyZaloError(new ZaloRateLimitedError(1500))).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 1500,
    });
    expect(classifyZaloError(new ZaloTokenError('not connected'))).toMatchObject({ kind: 'transient' });
  });
});
