import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Update } from 'telegraf/types';
import { UpdateInbox } from '../../bot/channels/telegram/update-inbox';
import { telegramWebhookRoute } from '../../bot/channels/telegram/webhook-route';
import { createHttpServer } from '../../bot/http/server';
import { logger } from '../../lib/logger';
import { FakeTelegram } from '../fakes/telegram-server';
import { clearPrefix, testPrefix, testRedis } from '../support/services';

const SECRET = 'webhook_Secret-123';
const redis = testRedis();
const prefixes: string[] = [];
/** Fresh per test: each test's fake Bot API numbers its updates from the same start. */
let prefix: string;
let fake: FakeTelegram;
let app: FastifyInstance;
let url: string;
let inbox: UpdateInbox;
/** What the bot applied, in order. */
let applied: Update[];
/** Lets a test hold the handler to show the webhook answers before the turn runs. */
let gate: Promise<void>;
/** A test can make the inbox fail the next accepts (Redis trouble). */
let failAccepts = 0;

beforeEach(async () => {
  applied = [];
  gate = Promise.resolve();
  failAccepts = 0;
  prefix = testPrefix('tgwebhook');
  prefixes.push(prefix);
  fake = await FakeTelegram.start();
  fake.webhookRetryBaseMs = 10;
  inbox = new UpdateInbox(
    redis,
    prefix,
    String(fake.botId),
    async (u) => {
      await gate;
      applied.push(u);
    },
    logger,
  );
  const flaky = {
    accept: (u: Update) =>
      failAccepts-- > 0 ? Promise.reject(new Error('Connection is closed.')) : inbox.accept(u),
  };
  app = createHttpServer({ bodyLimit: 64 * 1024 });
  await app.register(
    telegramWebhookRoute({
      secret: SECRET,
      inbox: flaky,
      onAccepted: (chat) => inbox.kick(chat),
      log: logger,
    }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhooks/telegram`;
  fake.setWebhook(url, SECRET);
});

afterEach(async () => {
  await inbox.stop();
  await app.close();
  await fake.close();
});

afterAll(async () => {
  for (const p of prefixes) await clearPrefix(redis, p);
  await redis.quit();
});

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

const ids = () => applied.map((u) => u.update_id);

async function post(
  to: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { message?: string } }> {
  const res = await fetch(to, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as { message?: string } };
}

describe('POST /webhooks/telegram', () => {
  test('stores an update delivered with the right secret and applies it', async () => {
    const id = await fake.user(1001).command('/start', 'HS123');
    await until(() => applied.length === 1);
    expect(applied[0]).toMatchObject({
      update_id: id,
      message: {
        text: '/start HS123',
        chat: { id: 1001 },
        entities: [{ type: 'bot_command', offset: 0, length: 6 }],
      },
    });
    expect(fake.webhookDeliveries).toEqual([expect.objectContaining({ updateId: id, status: 200 })]);
  });

  test('refuses a missing or wrong secret with 401 and stores nothing', async () => {
    const body = JSON.stringify({
      update_id: 1,
      message: { message_id: 1, date: 0, chat: { id: 5, type: 'private' }, text: 'x' },
    });
    expect(await fake.postRaw(url, body)).toBe(401);
    expect(await fake.postRaw(url, body, { 'x-telegram-bot-api-secret-token': 'wrong' })).toBe(401);
    expect(await fake.postRaw(url, body, { 'x-telegram-bot-api-secret-token': `${SECRET}x` })).toBe(401);
    await sleep(30);
    expect(applied).toEqual([]);
    expect(await redis.exists(`${prefix}:tg:${fake.botId}:seen:1`)).toBe(0);
  });

  test('refuses a body that is not an update with 400 and a clear message', async () => {
    const h = { 'x-telegram-bot-api-secret-token': SECRET };
    for (const body of ['[]', '{}', '{"update_id":"7"}', '{"update_id":1.5}', 'null', '{not json']) {
      const res = await post(url, body, h);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.json.message).toMatch(/update_id|malformed JSON/);
    }
  });

  test('answers 200 before the update is applied, so a slow turn does not hold Telegram', async () => {
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const id = await fake.user(1002).send('Xin chào');
    // The delivery finished (200) while the handler is still held.
    expect(fake.webhookDeliveries.at(-1)).toMatchObject({ updateId: id, status: 200 });
    expect(applied).toEqual([]);
    release();
    await until(() => applied.length === 1);
  });

  test('a duplicated and racing delivery is applied once; every delivery gets 200', async () => {
    const user = fake.user(1003);
    const id = await user.send('một', { copies: 3, concurrent: true });
    await until(() => applied.length === 1);
    await sleep(50);
    expect(ids()).toEqual([id]);
    expect(fake.webhookDeliveries.filter((d) => d.updateId === id).map((d) => d.status)).toEqual([
      200, 200, 200,
    ]);
  });

  test("a chat's updates are applied in order when a double tap's deliveries and their retries race", async () => {
    const user = fake.user(1004);
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) sent.push(await user.send(`tin ${i}`));
    // Two quick taps: Telegram queues them per chat; each is also delivered twice at once
    // (a retry racing the original after a slow answer).
    const taps = await Promise.all([user.tap('q1:a', 1, { copies: 2 }), user.tap('q1:b', 1, { copies: 2 })]);
    await until(() => applied.length === 7);
    await sleep(50);
    expect(ids()).toEqual([...sent, ...taps]);
    expect(
      applied.slice(5).map((u) => (u as { callback_query: { data: string } }).callback_query.data),
    ).toEqual(['q1:a', 'q1:b']);
    expect(fake.webhookDeliveries.filter((d) => taps.includes(d.updateId))).toHaveLength(4);
  });

  test("answers 503 when the update cannot be stored, and Telegram's retry is then applied once", async () => {
    failAccepts = 2;
    const id = await fake.user(1005).send('thử lại');
    expect(fake.webhookDeliveries.filter((d) => d.updateId === id).map((d) => d.status)).toEqual([
      503, 503, 200,
    ]);
    await until(() => applied.length === 1);
    expect(ids()).toEqual([id]);
  });

  test('answers 503 when Redis itself is unreachable', async () => {
    const dead = testRedis();
    await dead.quit();
    const offline = new UpdateInbox(dead, prefix, 'x', () => Promise.resolve(), logger);
    const other = createHttpServer({ bodyLimit: 1024 });
    await other.register(telegramWebhookRoute({ secret: SECRET, inbox: offline }));
    await other.listen({ port: 0, host: '127.0.0.1' });
    const otherUrl = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}/webhooks/telegram`;
    const update = {
      update_id: 9,
      message: { message_id: 1, date: 0, chat: { id: 1, type: 'private' }, text: 'x' },
    };
    const res = await post(otherUrl, JSON.stringify(update), { 'x-telegram-bot-api-secret-token': SECRET });
    expect(res.status).toBe(503);
    await other.close();
  });
});
