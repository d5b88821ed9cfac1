import { parseSecretsKey } from '../../lib/secret-box';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { Update } from 'telegraf/types';
import { registerTelegramCommands } from '../../cli/commands/telegram';
import { UpdateInbox, type UpdateHandler } from '../../bot/channels/telegram/update-inbox';
import { logger } from '../../lib/logger';
import { clearPrefix, testPrefix, testRedis } from '../support/services';
import { until } from '../support/until';

// The command reads its settings like the real CLI: this bot, this prefix, this key.
const prefix = testPrefix('tgdlcli');
const key = randomBytes(32);
process.env.REDIS_PREFIX = prefix;
process.env.TELEGRAM_BOT_TOKEN = '777001:TEST-token-abcdefghijklmnopqrstuv';
process.env.SECRETS_KEY = key.toString('hex');

const redis = testRedis();
const inboxes: UpdateInbox[] = [];

async function run(...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    const program = new Command().exitOverride();
    registerTelegramCommands(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  return lines;
}

function inbox(handler: UpdateHandler, retryForMs = 0): UpdateInbox {
  const i = new UpdateInbox(redis, prefix, '777001', handler, logger, {
    retryForMs,
    secretsKey: parseSecretsKey(key.toString('hex')),
  });
  inboxes.push(i);
  return i;
}

const msg = (updateId: number, chatId: number, text: string): Update =>
  ({
    update_id: updateId,
    message: {
      message_id: updateId,
      date: 0,
      chat: { id: chatId, type: 'private', first_name: 'Trần Thị B' },
      from: { id: chatId, is_bot: false, first_name: 'Trần Thị B' },
      text,
    },
  }) as Update;

afterEach(() => {
  process.exitCode = 0;
});
afterAll(async () => {
  await Promise.all(inboxes.map((i) => i.stop()));
  await clearPrefix(redis, prefix);
  redis.disconnect();
});

test('list shows the dead letters without personal data; replay --id queues one for the bot; drop --all deletes the rest', async () => {
  const failing = inbox(() => Promise.reject(new Error('MongoNetworkError')));
  await failing.accept(msg(9001, 501, '/start Tok_en-1234567890abcdef'));
  await failing.accept(msg(9002, 502, 'Nhà tôi ở số 5 Lê Lợi'));
  await failing.drain('501');
  await failing.drain('502');

  const listed = await run('telegram', 'dead-letters', 'list');
  expect(listed[0]).toBe('Thư chết / dead letters: 2');
  expect(listed[1]).toMatch(/^9001\t501\t\/start Tok_en-1234567890abcdef\tError\t1\t/);
  expect(listed[2]).toMatch(/^9002\t502\ttext \(sealed\)\tError\t1\t/);
  expect(listed.join('\n')).not.toMatch(/Trần|Lê Lợi/);

  expect(await run('telegram', 'dead-letters', 'replay', '--id', '9002')).toEqual([
    'Đã xếp lại 1 / 1 queued again; a running bot applies them within seconds',
  ]);
  const applied: Update[] = [];
  const bot = inbox(async (u) => void applied.push(u), 60_000);
  bot.startSweeper(50);
  await until(() => applied.length === 1, 'the replayed update applied');
  expect((applied[0] as { message: { text: string; chat: { id: number } } }).message).toMatchObject({
    text: 'Nhà tôi ở số 5 Lê Lợi',
    chat: { id: 502 },
  });
  expect((await run('telegram', 'dead-letters', 'list'))[0]).toBe('Thư chết / dead letters: 1');

  expect(await run('telegram', 'dead-letters', 'drop', '--all')).toEqual(['Đã xoá 1 / 1 dropped']);
  expect(await bot.deadLetters.list()).toEqual([]);
});

test('bad input is refused with a reason and changes nothing', async () => {
  const failing = inbox(() => Promise.reject(new Error('down')));
  await failing.accept(msg(9101, 601, '/help'));
  await failing.drain('601');
  for (const args of [
    ['replay'],
    ['replay', '--id', '9101', '--all'],
    ['drop', '--id', 'abc'],
    ['replay', '--id', '424242'],
  ]) {
    const out = await run('telegram', 'dead-letters', ...args);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/--id|no dead letter/);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  }
  expect((await failing.deadLetters.list()).map((l) => l.updateId)).toEqual([9101]);
});
