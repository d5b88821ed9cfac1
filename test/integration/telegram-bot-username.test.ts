import { Writable } from 'node:stream';
import pino from 'pino';
import { learnBotUsername } from '../../app/telegram';
import { parseEnv } from '../../config/env';
import { createApiKey } from '../../lib/api-auth';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';

/**
 * Deep links need the bot's username. Without TELEGRAM_BOT_USERNAME the process asks the Bot API
 * (getMe) at start; when that fails too it says so once in the log and links stay null.
 */
let fake: FakeTelegram;
let t: TestApp;

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp(
    'tgname',
    {
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: 'tgname_secret',
      TELEGRAM_SET_WEBHOOK: 'false',
    },
    ['http'],
  );
});

afterAll(async () => {
  await t.stop();
  await fake.close();
});

test('the dossier API gives a Telegram deep link with the username learned from getMe', async () => {
  expect(t.env.TELEGRAM_BOT_USERNAME).toBeUndefined();
  expect(fake.callsOf('getMe')).toHaveLength(1);
  const { key } = await createApiKey({ name: 'tgname', unitCodes: [] });
  const res = await fetch(`${t.baseUrl}/api/v1/dossiers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      code: 'H57.22.10-250314-TG01',
      procedureCode: '1.001234',
      procedureName: 'Đăng ký khai sinh',
      unitCode: '19870',
      channel: 'in_person',
      onlineLevel: null,
      receivedAt: '2025-03-14T09:30:00+07:00',
      finishedAt: '2025-03-16T10:00:00+07:00',
      status: 'finished',
      applicant: { phone: '0912345678' },
    }),
  });
  expect(res.status).toBeLessThan(300);
  const body = (await res.json()) as { survey: { token: string; telegramLink: string | null } };
  expect(body.survey.telegramLink).toBe(`https://t.me/hailong_test_bot?start=${body.survey.token}`);
});

test('when getMe fails and no username is set, the log says so once and links stay off', async () => {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write: (chunk: Buffer, _e, cb) => (
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string }),
      cb()
    ),
  });
  const log = pino({ level: 'info' }, sink);
  // The fake refuses a token it does not know (401 Unauthorized).
  const env = parseEnv({
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: '999999:WRONG-token-abcdefghijklmnopqrstuv',
    TELEGRAM_API_ROOT: fake.apiRoot,
  });
  const learned = await learnBotUsername(env, log);
  expect(learned.TELEGRAM_BOT_USERNAME).toBeUndefined();
  const warnings = lines.filter((l) => l.level === 40);
  expect(warnings).toHaveLength(1);
  expect(warnings[0].msg).toMatch(
    /TELEGRAM_BOT_USERNAME is not set and getMe failed: Telegram deep links are off/,
  );

  // A configured username is used as it is, without asking.
  const calls = fake.callsOf('getMe').length;
  const named = parseEnv({
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_BOT_USERNAME: 'HaiLongBot',
  });
  expect(await learnBotUsername(named, log)).toBe(named);
  expect(fake.callsOf('getMe')).toHaveLength(calls);
});
