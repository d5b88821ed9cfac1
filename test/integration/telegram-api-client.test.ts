import { getEventListeners } from 'node:events';
import type { Telegram } from 'telegraf';
import { createTelegramClient } from '../../bot/channels/telegram/api-client';
import {
  classifyTelegramError,
  TelegramRateLimitedError,
  TelegramRefusedError,
  TelegramUnreachableError,
} from '../../bot/channels/telegram/errors';
import { logger } from '../../lib/logger';
import { FakeTelegram } from '../fakes/telegram-server';

const isDeadRecipient = (err: unknown): boolean => classifyTelegramError(err).kind === 'dead';

let fake: FakeTelegram;

function client(over: Partial<Parameters<typeof createTelegramClient>[0]> = {}): Telegram {
  return createTelegramClient({
    token: fake.token,
    apiRoot: fake.apiRoot,
    maxRetries: 3,
    maxRetryAfterS: 5,
    backoffMs: 5,
    log: logger,
    ...over,
  });
}

beforeEach(async () => {
  fake = await FakeTelegram.start();
});
afterEach(async () => {
  await fake.close();
});

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('createTelegramClient', () => {
  test('a call the Bot API never answers times out and is retried, instead of waiting telegraf’s 500 s', async () => {
    fake.failNext('sendMessage', { code: 'hang', ms: 60_000 });
    const t0 = Date.now();
    const msg = await client({ timeoutMs: 300 }).sendMessage(1001, 'Xin chào');
    expect(msg.text).toBe('Xin chào');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(fake.callsOf('sendMessage').map((c) => c.outcome)).toEqual([0, 'ok']);
  });

  test('a stopping process abandons a call the Bot API holds, and retries nothing (the drain bound, docs/faults.md)', async () => {
    fake.failNext('sendMessage', { code: 'hang', ms: 60_000 });
    fake.failNext('sendMessage', { code: 502 });
    const stop = new AbortController();
    const c = client({ stopSignal: stop.signal, timeoutMs: 30_000, maxRetries: 5 });
    const held = caught(c.sendMessage(1001, 'Câu 2/7'));
    await fake.waitFor(() => fake.callsOf('sendMessage').length === 1, 10_000, 'the held call');
    stop.abort();
    const err = await held;
    expect(err).toBeInstanceOf(TelegramUnreachableError);
    // Neither a retry of the held call nor a new call once stopped.
    expect(await caught(c.sendMessage(1001, 'Câu 3/7'))).toBeInstanceOf(TelegramUnreachableError);
    expect(fake.callsOf('sendMessage').map((x) => x.outcome)).toEqual([0]);
    expect(fake.sent).toEqual([]);
  });

  test('a settled call leaves nothing behind on the process’s stop signal: no listener, no dependant signal', async () => {
    const stop = new AbortController();
    const c = client({ stopSignal: stop.signal });
    fake.failNext('sendMessage', { code: 502 });
    for (let i = 0; i < 20; i++) await c.sendMessage(1001, `Câu ${i}`);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    // AbortSignal.any([stop, …]) per call kept each composite in the stop signal's dependants
    // (Node's internal kDependantSignals, nodejs/node#64476) and its timeout signal for 10 s.
    const dependants = Object.getOwnPropertySymbols(stop.signal).find(
      (k) => k.description === 'kDependantSignals',
    );
    const set =
      dependants && (stop.signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants];
    expect(set?.size ?? 0).toBe(0);
    expect(fake.callsOf('sendMessage')).toHaveLength(21);
  });

  test('sends through the configured API root and returns the result', async () => {
    const tg = client();
    const me = await tg.getMe();
    expect(me.id).toBe(fake.botId);
    const msg = await tg.sendMessage(1001, 'Xin chào', {
      reply_markup: { inline_keyboard: [[{ text: 'Có', callback_data: 'c:yes' }]] },
    });
    expect(msg.message_id).toBe(1);
    expect(fake.sentTo(1001)).toEqual([expect.objectContaining({ text: 'Xin chào', messageId: 1 })]);
    expect(tg.webhookReply).toBe(false);
  });

  test('retries 500 and 502 answers and then succeeds', async () => {
    fake.failNext('sendMessage', { code: 500 });
    fake.failNext('sendMessage', { code: 502 });
    await client().sendMessage(1001, 'a');
    expect(fake.callsOf('sendMessage').map((c) => c.outcome)).toEqual([500, 502, 'ok']);
    expect(fake.sentTo(1001)).toHaveLength(1);
  });

  test('retries a dropped connection', async () => {
    fake.failNext('sendMessage', { code: 'drop' });
    await client().sendMessage(1001, 'a');
    expect(fake.callsOf('sendMessage').map((c) => c.outcome)).toEqual([0, 'ok']);
  });

  test('gives up after maxRetries with TelegramUnreachableError', async () => {
    fake.failNext('sendMessage', { code: 502 }, 10);
    const err = await caught(client({ maxRetries: 2 }).sendMessage(1001, 'a'));
    expect(err).toBeInstanceOf(TelegramUnreachableError);
    expect((err as TelegramUnreachableError).method).toBe('sendMessage');
    expect(fake.callsOf('sendMessage')).toHaveLength(3);
  });

  test('waits out a 429 for retry_after seconds, then sends', async () => {
    fake.failNext('sendMessage', { code: 429, retryAfter: 1 });
    await client().sendMessage(1001, 'a');
    const [first, second] = fake.callsOf('sendMessage');
    expect(first.outcome).toBe(429);
    expect(second.outcome).toBe('ok');
    expect(second.at - first.at).toBeGreaterThanOrEqual(1000);
  });

  test('fails at once with TelegramRateLimitedError when retry_after exceeds maxRetryAfterS', async () => {
    fake.failNext('sendMessage', { code: 429, retryAfter: 120 });
    const err = await caught(client({ maxRetryAfterS: 60 }).sendMessage(1001, 'a'));
    expect(err).toBeInstanceOf(TelegramRateLimitedError);
    expect((err as TelegramRateLimitedError).retryAfterSeconds).toBe(120);
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
  });

  test('does not wait on a 429 when waitOnRateLimit is off (queue workers pause the queue instead)', async () => {
    fake.failNext('sendMessage', { code: 429, retryAfter: 1 });
    const err = await caught(client({ waitOnRateLimit: false }).sendMessage(1001, 'a'));
    expect(err).toBeInstanceOf(TelegramRateLimitedError);
    expect((err as TelegramRateLimitedError).retryAfterSeconds).toBe(1);
    expect(fake.callsOf('sendMessage')).toHaveLength(1);
  });

  test('obeys the fake per-chat rate limit by waiting, so every message arrives', async () => {
    fake.rateLimit = { perChatPerSecond: 1, retryAfter: 1 };
    const tg = client();
    await tg.sendMessage(1001, 'one');
    await tg.sendMessage(1001, 'two');
    expect(fake.sentTo(1001).map((m) => m.text)).toEqual(['one', 'two']);
    expect(fake.callsOf('sendMessage').map((c) => c.outcome)).toEqual(['ok', 429, 'ok']);
  });

  test.each([
    ['blocked', 403, 'Forbidden: bot was blocked by the user'],
    ['deactivated', 403, 'Forbidden: user is deactivated'],
    ['not_found', 400, 'Bad Request: chat not found'],
    ['kicked', 403, 'Forbidden: bot was kicked from the group chat'],
  ] as const)(
    'refuses a %s recipient once, without retrying, as a dead recipient',
    async (kind, code, description) => {
      fake.block(2002, kind);
      const err = await caught(client().sendMessage(2002, 'a'));
      expect(err).toBeInstanceOf(TelegramRefusedError);
      expect(err).toMatchObject({ method: 'sendMessage', code, description });
      expect(isDeadRecipient(err)).toBe(true);
      expect(fake.callsOf('sendMessage')).toHaveLength(1);
    },
  );

  test('refuses callback_data over 64 bytes (Vietnamese letters count double)', async () => {
    const tg = client();
    await tg.sendMessage(1001, 'ok', {
      reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'đ'.repeat(32) }]] },
    });
    const err = await caught(
      tg.sendMessage(1001, 'too long', {
        reply_markup: { inline_keyboard: [[{ text: 'a', callback_data: 'đ'.repeat(33) }]] },
      }),
    );
    expect(err).toMatchObject({ code: 400, description: 'Bad Request: BUTTON_DATA_INVALID' });
    expect(isDeadRecipient(err)).toBe(false);
  });

  test('refuses empty and over-long texts, counting HTML text without its tags', async () => {
    const tg = client();
    await expect(tg.sendMessage(1001, '')).rejects.toMatchObject({
      code: 400,
      description: 'Bad Request: message text is empty',
    });
    await expect(tg.sendMessage(1001, 'x'.repeat(4097))).rejects.toMatchObject({
      description: 'Bad Request: message is too long',
    });
    await tg.sendMessage(1001, `<b>${'x'.repeat(4096)}</b>`, { parse_mode: 'HTML' });
    expect(fake.sentTo(1001)).toHaveLength(1);
  });

  test('answers a callback query once; a second answer is "query is too old"', async () => {
    const tg = client();
    const sent = await tg.sendMessage(1001, 'Chọn', {
      reply_markup: { inline_keyboard: [[{ text: 'Có', callback_data: 'yes' }]] },
    });
    await fake.user(1001).tap('yes', sent.message_id);
    const [update] = await tg.getUpdates(0, 10, 0, undefined);
    expect(update).toMatchObject({
      callback_query: { data: 'yes', message: { message_id: sent.message_id, chat: { id: 1001 } } },
    });
    const id = (update as { callback_query: { id: string } }).callback_query.id;
    await tg.answerCbQuery(id, 'Đã ghi nhận');
    await expect(tg.answerCbQuery(id)).rejects.toMatchObject({
      code: 400,
      description: expect.stringContaining('query is too old'),
    });
    await expect(tg.answerCbQuery('unknown')).rejects.toBeInstanceOf(TelegramRefusedError);
    expect(fake.callbackAnswers()).toHaveLength(1);
  });

  test('edits a keyboard once; the same keyboard again is "message is not modified"', async () => {
    const tg = client();
    const kb = { inline_keyboard: [[{ text: 'Có', callback_data: 'yes' }]] };
    const sent = await tg.sendMessage(1001, 'Chọn', { reply_markup: kb });
    await tg.editMessageReplyMarkup(1001, sent.message_id, undefined, { inline_keyboard: [] });
    await expect(
      tg.editMessageReplyMarkup(1001, sent.message_id, undefined, { inline_keyboard: [] }),
    ).rejects.toMatchObject({
      code: 400,
      description: expect.stringContaining('message is not modified'),
    });
    await expect(tg.editMessageText(1001, 999, undefined, 'x')).rejects.toMatchObject({
      description: 'Bad Request: message to edit not found',
    });
    await tg.editMessageText(1001, sent.message_id, undefined, 'Đã chọn');
    expect(fake.lastMessageTo(1001)).toMatchObject({ text: 'Đã chọn', replyMarkup: { inline_keyboard: [] } });
  });

  test('sends a photo by URL and deletes a message once', async () => {
    const tg = client();
    const photo = await tg.sendPhoto(1001, 'https://example.org/qr.png', { caption: 'Mã QR' });
    await tg.deleteMessage(1001, photo.message_id);
    await expect(tg.deleteMessage(1001, photo.message_id)).rejects.toMatchObject({
      description: 'Bad Request: message to delete not found',
    });
  });
});
