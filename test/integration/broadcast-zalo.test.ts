import type { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { key } from '../../lib/redis';
import { Contact } from '../../models/contact';
import { ZaloToken } from '../../models/zalo-token';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZALO_API_QUEUE, type ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { createBroadcast } from '../../workers/broadcast/control';
import { broadcastProgress } from '../../workers/broadcast/progress';
import { renderBroadcast } from '../../workers/broadcast/render';
import { BroadcastSendError, ZaloBroadcastSender, type SendFailure } from '../../workers/broadcast/senders';
import { startBroadcastWorkers, type BroadcastWorkers } from '../../workers/broadcast/start';
import { FakeZaloServer } from '../fakes/zalo-server';
import { connectedZaloClient } from '../support/zalo';
import { waitBroadcastStatus } from '../support/broadcasts';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';
import { startContactWriter } from '../support/contact-writer';

/**
 * The Zalo broadcast sender against the fake Zalo platform: consultation messages with the link
 * and /stop buttons, Zalo's error codes sorted by cause, and a broadcast through the delivery
 * worker at a per-minute limit (Zalo counts per minute).
 */
jest.setTimeout(300_000);
const PER_MIN = 120;
const N = 9;

let fake: FakeZaloServer;
let redis: Redis;
let client: ZaloClient;
let limiter: ZaloRateLimiter;
let writer: Awaited<ReturnType<typeof startContactWriter>>;
let workers: BroadcastWorkers | null = null;
const prefix = testPrefix('bczalo');
const message = renderBroadcast(
  { text: 'Mời Ông/Bà đánh giá dịch vụ', buttons: [{ text: 'Khảo sát', url: 'https://example.gov.vn/s' }] },
  'vi',
);

beforeAll(async () => {
  await connectTestDb('bczalo');
  redis = testRedis();
  fake = await new FakeZaloServer().start();
  ({ client, limiter } = await connectedZaloClient(fake, redis, prefix, {
    secretsKey: '55'.repeat(32),
    limiter: { maxWaitMs: 0 },
    rateLimitBackoffMs: 60_000,
  }));
  writer = await startContactWriter(redis, prefix);
});

afterAll(async () => {
  await writer.close();
  await workers?.close();
  await limiter.close();
  await fake.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

async function failureOf(code: number): Promise<SendFailure> {
  fake.failNext('cs', code);
  try {
    await new ZaloBroadcastSender(client).send(`u${-code}`, message);
  } catch (err) {
    if (err instanceof BroadcastSendError) return err.failure;
    throw err;
  }
  throw new Error(`code ${code}: the send succeeded`);
}

test('delivers a consultation message with the link and /stop buttons', async () => {
  await new ZaloBroadcastSender(client).send('u-ok', message);
  const [sent] = fake.csTo('u-ok');
  expect(sent!.text).toContain('Mời Ông/Bà đánh giá dịch vụ');
  expect(sent!.text).toContain('/stop');
  const buttons = (sent!.attachment as { payload: { buttons: Array<{ type: string; payload: unknown }> } })
    .payload.buttons;
  expect(buttons).toEqual([
    expect.objectContaining({ type: 'oa.open.url', payload: { url: 'https://example.gov.vn/s' } }),
    expect.objectContaining({ type: 'oa.query.hide', payload: '/stop' }),
  ]);
});

test('maps Zalo refusals by cause: outside the window, blocked, not following, rate limited', async () => {
  expect(await failureOf(-230)).toEqual({ kind: 'refused', reason: 'zalo_outside_window' });
  expect(await failureOf(-232)).toEqual({ kind: 'refused', reason: 'zalo_outside_window' });
  expect(await failureOf(-227)).toEqual({ kind: 'dead', reason: 'zalo_-227', mark: 'blocked' });
  expect(await failureOf(-244)).toEqual({ kind: 'dead', reason: 'zalo_-244', mark: 'blocked' });
  expect(await failureOf(-213)).toEqual({ kind: 'dead', reason: 'zalo_-213', mark: 'unsubscribed' });
  expect(await failureOf(-32)).toMatchObject({ kind: 'rate_limited' });
  // The -32 paused every Zalo call of the app (the shared limiter): the next one is refused locally.
  await expect(new ZaloBroadcastSender(client).send('u-paused', message)).rejects.toMatchObject({
    failure: { kind: 'rate_limited' },
  });
  expect(fake.csTo('u-paused')).toEqual([]);
  expect(fake.csTo('u230')).toEqual([]);
  // Lift the pause (BullMQ's rate limit of the zalo-api queue) for the next test.
  await redis.del(key(prefix, ZALO_API_QUEUE, 'limiter'));
  expect(await limiter.pausedFor()).toBe(0);
});

test('a Zalo broadcast: one message each, a blocked user is marked and never retried, the per-minute rate is spread evenly', async () => {
  const env = parseEnv({
    NODE_ENV: 'test',
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
    ZALO_BROADCAST_RATE_PER_MIN: String(PER_MIN),
  });
  const ctx = { env, log: logger, redis, prefix };
  workers = await startBroadcastWorkers({
    ctx,
    createConnection: testRedis,
    senders: { zalo: new ZaloBroadcastSender(client) },
    finishIntervalMs: 200,
  });
  const users = Array.from({ length: N }, (_, i) => `zb-${i}`);
  await Contact.insertMany(
    users.map((u) => ({
      channel: 'zalo',
      channelUserId: u,
      consentAt: new Date(),
      lastInteractionAt: new Date(),
      tags: ['zb'],
    })),
  );
  // Outside the 7-day consultation window: never targeted.
  await Contact.create({
    channel: 'zalo',
    channelUserId: 'zb-old',
    consentAt: new Date(),
    lastInteractionAt: new Date(Date.now() - 8 * 24 * 3600_000),
    tags: ['zb'],
  });
  const before = fake.sent.length;
  // The first broadcast call finds its user blocked (-227).
  fake.failNext('cs', -227);
  const created = await createBroadcast(
    { text: 'Tuyên truyền qua Zalo', target: { tags: ['zb'], channels: ['zalo'] }, createdBy: 'staff-z' },
    { redis, prefix, queues: workers.queues, env },
  );
  expect(created.recipients.byChannel.zalo).toBe(N);
  await waitBroadcastStatus(created.id, ['completed'], 240_000);

  const sent = fake.sent.slice(before).filter((s) => s.endpoint === 'cs');
  const to = (s: (typeof sent)[number]) => (s.body.recipient as { user_id: string }).user_id;
  // Through the one contact writer: the ingest workers apply the mark.
  await writer.settled();
  const blocked = await Contact.find({ channelUserId: { $in: users }, blockedAt: { $ne: null } }).lean();
  expect(blocked).toHaveLength(1);
  expect(blocked[0]!.unsubscribedAt).not.toBeNull();
  const reached = users.filter((u) => u !== blocked[0]!.channelUserId);
  expect(sent.map(to).sort()).toEqual(reached.sort());
  expect(sent.map(to)).not.toContain('zb-old');
  const progress = (await broadcastProgress(created.id, redis, prefix))!;
  expect(progress.counts).toMatchObject({ sent: N - 1, blocked: 1, failed: 0 });
  expect(progress.blockedReasons).toEqual({ 'zalo_-227': 1 });

  // 120/min is scheduled one call every ~500 ms: never a burst, far below 120 in any minute.
  const times = sent.map((s) => s.at!).sort((a, b) => a - b);
  const perWindow = (ms: number) =>
    Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + ms).length));
  expect(perWindow(60_000)).toBeLessThanOrEqual(PER_MIN);
  expect(perWindow(1000)).toBeLessThanOrEqual(4);
});
