import type { DeadLetter } from '../../bot/channels/telegram/dead-letters';
import { UpdateInbox } from '../../bot/channels/telegram/update-inbox';
import { logger } from '../../lib/logger';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';

/**
 * A turn applied but whose reply did not reach Telegram (a 5xx the client does not retry here:
 * TELEGRAM_MAX_RETRIES=0) is retried by the update inbox; the retry must deliver the reply, and
 * only the part not yet delivered, instead of nothing (the session already counts the update).
 */
const SECRET = 'delivery_secret-123';
let fake: FakeTelegram;
let t: TestApp;

async function nth(id: number, n: number) {
  await fake.waitFor(() => fake.sentTo(id).length >= n, 20_000, `${n} messages to ${id}`);
  return fake.sentTo(id)[n - 1];
}
const texts = (id: number) => fake.sentTo(id).map((m) => m.text);

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('tgdeliver', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_MAX_RETRIES: '0',
  });
});

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

test('the next question, lost to a 5xx after the answer was applied, is sent by the retry', async () => {
  const u = fake.user(2001);
  await u.command('/start');
  await nth(2001, 1);
  fake.failNext('sendMessage', { code: 502 });
  await u.tapLabel('Đồng ý');
  const q1 = await nth(2001, 2);
  expect(q1.text).toContain('nơi tiếp nhận hồ sơ');
  const sends = fake.callsOf('sendMessage').filter((c) => String(c.params.chat_id) === '2001');
  expect(sends.map((c) => c.outcome)).toEqual(['ok', 502, 'ok']);
  expect(texts(2001)).toHaveLength(2);
});

test('a two-message reply that failed at its second message: the retry sends the second only', async () => {
  const u = fake.user(2002);
  await u.command('/start');
  const consent = await nth(2002, 1);
  fake.failNext('sendMessage', { code: 'pass' });
  fake.failNext('sendMessage', { code: 503 });
  await u.command('/help');
  await fake.waitFor(
    () => texts(2002).length >= 3 && texts(2002).at(-1) === consent.text,
    20_000,
    'the question again after the help',
  );
  expect(texts(2002)).toEqual([consent.text, expect.stringContaining('/stop'), consent.text]);
});

test('the thanks of the turn that completed the survey, lost to a 5xx, is sent by the retry (not "no survey")', async () => {
  const u = fake.user(2003);
  await u.command('/start');
  await nth(2003, 1);
  await u.tapLabel('Đồng ý');
  await nth(2003, 2);
  for (let i = 3; i <= 8; i++) {
    await u.tapLabel('5. Rất hài lòng');
    await nth(2003, i);
  }
  expect(fake.lastMessageTo(2003)!.text).toContain('Ông/Bà có góp ý gì thêm');
  fake.failNext('sendMessage', { code: 502 });
  await u.send('bỏ qua');
  expect((await nth(2003, 9)).text).toBe(
    'Trân trọng cảm ơn Ông/Bà đã dành thời gian cho ý kiến. Ý kiến của Ông/Bà đã được gửi đến Bộ phận Một cửa.',
  );
  expect(texts(2003).filter((x) => x.startsWith('Xin chào!'))).toEqual([]);
  expect(texts(2003)).toHaveLength(9);
});

test('an operator replays a dead letter whose typed text was not kept: the citizen is told so and asked the current question again', async () => {
  const u = fake.user(2004);
  await u.command('/start');
  const consent = await nth(2004, 1);
  // As the inbox leaves it after the retry window, without SECRETS_KEY: the text is not kept.
  const inbox = new UpdateInbox(
    t.redis,
    t.env.REDIS_PREFIX,
    String(fake.botId),
    () => Promise.resolve(),
    logger,
  );
  const letter: DeadLetter = {
    v: 1,
    updateId: 900_001,
    chatKey: '2004',
    chatType: 'private',
    lang: 'vi',
    input: { kind: 'text', sealed: null },
    error: 'MongoNetworkError',
    attempts: 40,
    firstFailedAt: Date.now() - 1_800_000,
    deadAt: Date.now(),
  };
  await t.redis.set(inbox.deadLetters.letterKey(letter.updateId), JSON.stringify(letter), 'EX', 600);
  await t.redis.zadd(inbox.deadLetters.indexKey, letter.deadAt, String(letter.updateId));
  expect(await inbox.replayDeadLetter(letter.updateId)).toBe(true);
  // The running bot's sweeper applies it.
  await nth(2004, 4);
  expect(texts(2004)).toEqual([
    consent.text,
    expect.stringContaining('chưa được xử lý do sự cố kỹ thuật và không còn được lưu lại'),
    expect.stringContaining('Xin vui lòng chọn'),
    consent.text,
  ]);
});
