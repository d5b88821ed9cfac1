import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Update } from 'telegraf/types';
import { createTelegramClient } from '../../bot/channels/telegram/api-client';
import { startPolling, type Poller } from '../../bot/channels/telegram/polling';
import { UpdateInbox } from '../../bot/channels/telegram/update-inbox';
import { logger } from '../../lib/logger';
import { FakeTelegram } from '../fakes/telegram-server';
import { clearPrefix, testPrefix, testRedis } from '../support/services';

const connections: Redis[] = [];
const prefixes: string[] = [];
let fake: FakeTelegram;
let prefix: string;
let applied: number[];
const pollers: Poller[] = [];
const inboxes: UpdateInbox[] = [];

/** One bot process in polling mode: its own Redis connection, client, inbox and poller. */
function botProcess(opts: { timeoutS?: number; lockMs?: number } = {}) {
  const redis = testRedis();
  connections.push(redis);
  const telegram = createTelegramClient({
    token: fake.token,
    apiRoot: fake.apiRoot,
    maxRetries: 2,
    maxRetryAfterS: 5,
    backoffMs: 5,
    log: logger,
  });
  const inbox = new UpdateInbox(
    redis,
    prefix,
    String(fake.botId),
    (u: Update) => {
      applied.push(u.update_id);
      return Promise.resolve();
    },
    logger,
  );
  inboxes.push(inbox);
  const poller = startPolling({
    telegram,
    inbox,
    redis,
    prefix,
    onAccepted: (c) => inbox.kick(c),
    log: logger,
    timeoutS: opts.timeoutS ?? 1,
    lockMs: opts.lockMs ?? 600,
    errorDelayMs: 20,
  });
  pollers.push(poller);
  return { poller, inbox, redis };
}

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

beforeEach(async () => {
  applied = [];
  prefix = testPrefix('tgpolling');
  prefixes.push(prefix);
  fake = await FakeTelegram.start();
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  await Promise.all(inboxes.splice(0).map((i) => i.stop()));
  await fake.close();
});

afterAll(async () => {
  const redis = testRedis();
  for (const p of prefixes) await clearPrefix(redis, p);
  await redis.quit();
  await Promise.all(connections.map((c) => c.quit()));
});

describe('startPolling', () => {
  test('removes a webhook left set, then applies updates fetched by getUpdates and persists the offset', async () => {
    fake.setWebhook('http://127.0.0.1:9/old', 'old');
    const { redis } = botProcess();
    await fake.waitForCall((c) => c.method === 'deleteWebhook');
    const user = fake.user(3001);
    const first = await user.command('/start');
    const second = await user.send('chào');
    await until(() => applied.length === 2);
    expect(applied).toEqual([first, second]);
    expect(fake.webhookInfo).toBeNull();
    await until(() => fake.callsOf('getUpdates').some((c) => Number(c.params.offset) === second + 1));
    expect(await redis.get(`${prefix}:tg:offset`)).toBe(String(second + 1));
    expect(fake.callsOf('getUpdates')[0].params).toMatchObject({ timeout: 1, limit: 100 });
  });

  test('a duplicated update in a batch is applied once', async () => {
    botProcess();
    const id = await fake.user(3002).send('hai lần', { copies: 2 });
    await until(() => applied.length === 1);
    await sleep(100);
    expect(applied).toEqual([id]);
  });

  test('only one of two processes polls at a time, so Telegram never answers 409', async () => {
    botProcess({ lockMs: 300 });
    botProcess({ lockMs: 300 });
    const user = fake.user(3003);
    const sent: number[] = [];
    // Longer than the lock lifetime: the holder keeps it by renewing.
    for (let i = 0; i < 8; i++) {
      sent.push(await user.send(`tin ${i}`));
      await sleep(100);
    }
    await until(() => applied.length === sent.length);
    expect(applied).toEqual(sent);
    expect(fake.callsOf('getUpdates').filter((c) => c.outcome === 409)).toEqual([]);
  });

  test('when the polling process stops, another takes over from the stored offset without re-applying', async () => {
    const a = botProcess({ lockMs: 300 });
    const user = fake.user(3004);
    const before = await user.send('trước');
    await until(() => applied.length === 1);
    await a.poller.stop();
    botProcess({ lockMs: 300 });
    const after = await user.send('sau');
    await until(() => applied.length === 2);
    await sleep(100);
    expect(applied).toEqual([before, after]);
  });

  test('keeps polling after getUpdates fails (5xx beyond retries, dropped connection)', async () => {
    fake.failNext('getUpdates', { code: 502 }, 4);
    fake.failNext('getUpdates', { code: 'drop' });
    botProcess();
    const id = await fake.user(3005).send('vẫn tới');
    await until(() => applied.length === 1);
    expect(applied).toEqual([id]);
  });

  test('stop() ends a 25 s long poll promptly by aborting it', async () => {
    const { poller } = botProcess({ timeoutS: 25 });
    await fake.waitForCall((c) => c.method === 'deleteWebhook');
    await sleep(100); // the long poll is in flight now, with nothing to return
    const outcome = await Promise.race([
      poller.stop().then(() => 'stopped'),
      sleep(3_000, undefined, { ref: false }).then(() => 'still polling'),
    ]);
    expect(outcome).toBe('stopped');
    expect(fake.calls.filter((c) => c.method === 'getUpdates')).toEqual([]); // never answered, so never recorded
  });
});
