import type { Redis } from 'ioredis';
import { Contact } from '../../models/contact';
import { ZaloToken } from '../../models/zalo-token';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZaloProactiveSender } from '../../bot/channels/zalo/proactive';
import {
  sliceBudget,
  ZALO_API_QUEUE,
  ZaloRateLimitedError,
  type ZaloRateLimiter,
} from '../../bot/channels/zalo/rate-limiter';
import { FakeZaloServer } from '../fakes/zalo-server';
import { connectedZaloClient, testZaloLimiter, testZaloProactiveSender } from '../support/zalo';
import { startContactWriter } from '../support/contact-writer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

let fake: FakeZaloServer;
let prefix: string;
let redis: Redis;
let client: ZaloClient;
let limiter: ZaloRateLimiter;
let writer: Awaited<ReturnType<typeof startContactWriter>>;
const NOON = Date.parse('2026-03-10T12:00:00+07:00');
const invitation = {
  messages: [{ kind: 'text' as const, text: 'Mời Ông/Bà đánh giá hồ sơ H57-1' }],
  vars: { ma: 'H57-1', donvi: 'UBND xã', thutuc: 'Cấp bản sao' },
  dossierCode: 'H57-1',
};

function sender(now = NOON): ZaloProactiveSender {
  return testZaloProactiveSender(client, redis, prefix, { templateMode: 'production', now });
}

beforeAll(async () => {
  await connectTestDb('zaloproactive');
  prefix = testPrefix('zaloproactive');
  redis = testRedis();
  fake = await new FakeZaloServer().start();
  ({ client, limiter } = await connectedZaloClient(fake, redis, prefix, {
    limiter: { maxWaitMs: 0 },
    rateLimitBackoffMs: 60_000,
  }));
  writer = await startContactWriter(redis, prefix);
});
afterAll(async () => {
  await writer.close();
  await limiter.close();
  await fake.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

test('inside the 7-day window a consultation message is sent', async () => {
  await Contact.create({
    channel: 'zalo',
    channelUserId: 'u-in',
    lastInteractionAt: new Date(NOON - 3600_000),
  });
  expect(await sender().send({ ...invitation, userId: 'u-in' })).toMatchObject({ status: 'sent', via: 'cs' });
  expect(fake.csTo('u-in').map((m) => m.text)).toEqual(['Mời Ông/Bà đánh giá hồ sơ H57-1']);
});

test('-230 (no interaction in 7 days) falls back to the rating template by user id', async () => {
  await Contact.create({
    channel: 'zalo',
    channelUserId: 'u-230',
    lastInteractionAt: new Date(NOON - 3600_000),
  });
  fake.failNext('cs', -230);
  const result = await sender().send({ ...invitation, userId: 'u-230' });
  expect(result).toMatchObject({ status: 'sent', via: 'template_uid' });
  const tpl = fake.sent.filter((s) => s.endpoint === 'template' && s.body.user_id === 'u-230');
  expect(tpl).toHaveLength(1);
  expect(tpl[0].body).toMatchObject({
    template_id: 'TPL-RATING',
    template_data: { ma_ho_so: 'H57-1', ten_don_vi: 'UBND xã' },
  });
  expect(fake.csTo('u-230')).toHaveLength(0);
});

test('outside the window (quota pre-flight) a template refused by UID goes by phone; no Zalo account is reported', async () => {
  fake.lastInteraction.set('u-old', NOON - 30 * 24 * 3600_000);
  fake.failNext('template', -249);
  const byPhone = await sender().send({ ...invitation, userId: 'u-old', phone: '0912 345 678' });
  expect(byPhone).toMatchObject({ status: 'sent', via: 'template_phone' });
  expect(fake.sent.filter((s) => s.endpoint === 'business_template').at(-1)!.body).toMatchObject({
    phone: '84912345678',
    tracking_id: 'H57-1',
  });
  fake.phonesWithoutZalo.add('84987654321');
  expect(await sender().send({ ...invitation, phone: '0987654321' })).toEqual({ status: 'no_zalo_account' });
});

test('outside the window, a message that is not about a dossier gets no rating template', async () => {
  const before = fake.sent.length;
  const r = await sender().send({ userId: 'u-old', messages: invitation.messages, vars: {} });
  expect(r).toMatchObject({ status: 'failed', reason: expect.stringMatching(/no dossier/) });
  expect(fake.sent.slice(before).filter((s) => s.endpoint !== 'cs')).toEqual([]);
});

test('quiet hours hold template sends', async () => {
  const night = Date.parse('2026-03-10T22:30:00+07:00');
  const before = fake.sent.length;
  const result = await sender(night).send({ ...invitation, phone: '0912345678' });
  expect(result).toEqual({ status: 'held', until: new Date('2026-03-11T00:00:00.000Z') });
  expect(fake.sent.length).toBe(before);
});

test('-244 marks the contact blocked and later invitations skip it', async () => {
  await Contact.create({
    channel: 'zalo',
    channelUserId: 'u-244',
    lastInteractionAt: new Date(NOON - 3600_000),
  });
  fake.failNext('cs', -244);
  expect(await sender().send({ ...invitation, userId: 'u-244' })).toEqual({
    status: 'skipped',
    reason: 'blocked',
  });
  // Through the one contact writer: the ingest workers apply the mark.
  await writer.settled();
  expect((await Contact.findOne({ channelUserId: 'u-244' }).lean())?.blockedAt).toBeInstanceOf(Date);
  const before = fake.sent.length;
  expect(await sender().send({ ...invitation, userId: 'u-244' })).toEqual({
    status: 'skipped',
    reason: 'blocked',
  });
  expect(fake.sent.length).toBe(before);
});

test('-32 pauses all Zalo traffic through the shared limiter', async () => {
  fake.failNext('cs', -32);
  await expect(client.sendText('u-in', 'x')).rejects.toMatchObject({ code: -32, reason: 'rate_limited' });
  // Another process's limiter (its own connections, same queue) is paused too, for the minute.
  const other = testZaloLimiter(redis, prefix, { maxWaitMs: 1000 });
  try {
    expect(await other.pausedFor()).toBeGreaterThan(50_000);
    await expect(other.acquire()).rejects.toBeInstanceOf(ZaloRateLimitedError);
    await expect(client.sendText('u-in', 'y')).rejects.toBeInstanceOf(ZaloRateLimitedError);
    // The pause is BullMQ's rate limit of the zalo-api queue: lifting it lets permits through.
    await redis.del(`${prefix}:${ZALO_API_QUEUE}:limiter`);
    await other.acquire();
    await client.sendText('u-in', 'z');
  } finally {
    await other.close();
  }
});

test('a pause lifted early is noticed within a slice, even by workers that went to sleep on it', async () => {
  const p = `${prefix}w`;
  // Willing to wait out the whole pause, so its permit is queued rather than refused.
  const a = testZaloLimiter(redis, p, { maxWaitMs: 120_000 });
  try {
    await a.acquire(); // the worker is up and waiting for permits
    await a.pause(60_000);
    // A permit queued during the pause wakes the worker, which meets the limit and sleeps on it.
    const waiting = a.acquire();
    await new Promise((r) => setTimeout(r, 200));
    await a.queue.removeRateLimitKey();
    // Admitted after at most a slice (1 s); with BullMQ's default the worker sleeps 30 s.
    const t0 = Date.now();
    await waiting;
    expect(Date.now() - t0).toBeLessThan(3000);
  } finally {
    await a.close();
    await clearPrefix(redis, p);
  }
});

test('the budget keeps any window at or under the limit, with room for a second of jitter', () => {
  // 4,000/min in 1 s slices, 1 s of jitter: 62 BullMQ windows can touch one Zalo minute.
  expect(sliceBudget(4000, 60_000, 1000, 1000)).toEqual({ max: 64, duration: 1000 });
  expect(62 * 64).toBeLessThanOrEqual(4000);
  expect(() => sliceBudget(10, 60_000, 1000, 1000)).toThrow(/too small/);
});

test('two processes together are admitted within the limit, spread by the global rate limit of the zalo-api queue', async () => {
  const p = `${prefix}x`;
  // 30 per second in 100 ms slices with 200 ms of jitter: 13 windows, 2 permits each.
  const opts = { limit: 30, windowMs: 1000, sliceMs: 100, jitterMs: 200, maxWaitMs: 20_000 };
  const a = testZaloLimiter(redis, p, opts);
  const b = testZaloLimiter(redis, p, opts);
  try {
    expect(a.budget).toEqual({ max: 2, duration: 100 });
    const admitted: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).acquire().then(() => admitted.push(Date.now()))),
    );
    admitted.sort((x, y) => x - y);
    // At most 30 in any second (sliding), and 40 permits could not all pass in the first second.
    for (let i = 0; i < admitted.length; i++) {
      expect(admitted.filter((t) => t >= admitted[i]! && t < admitted[i]! + 1000).length).toBeLessThanOrEqual(
        30,
      );
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await clearPrefix(redis, p);
  }
});

test('two processes sending at once never exceed a platform that enforces the limit (no -32)', async () => {
  const p = `${prefix}y`;
  // Its own app id: the token record of this file's other fake stays untouched.
  const strict = await new FakeZaloServer({
    appId: '4000000000000000001',
    rateLimit: { max: 30, windowMs: 1000 },
  }).start();
  const limiter = { limit: 30, windowMs: 1000, sliceMs: 100, jitterMs: 200, maxWaitMs: 20_000 };
  const processes = [
    await connectedZaloClient(strict, redis, p, { limiter }),
    await connectedZaloClient(strict, redis, p, { limiter }),
  ];
  try {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => processes[i % 2]!.client.sendText(`u-${i}`, `tin ${i}`)),
    );
    expect(strict.rateLimited).toBe(0);
    expect(strict.sent.filter((s) => s.endpoint === 'cs')).toHaveLength(60);
    const times = [...strict.requestTimes].sort((a, b) => a - b);
    expect(
      Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length)),
    ).toBeLessThanOrEqual(30);
  } finally {
    await Promise.all(processes.map((x) => x.limiter.close()));
    await strict.close();
    await clearPrefix(redis, p);
  }
});

test('a Redis that restarted without its data gets the budget back when the limiter reconnects', async () => {
  const p = `${prefix}z`;
  const conn = testRedis();
  const l = testZaloLimiter(conn, p);
  const meta = `${p}:${ZALO_API_QUEUE}:meta`;
  try {
    await l.acquire();
    expect(await redis.hmget(meta, 'max', 'duration')).toEqual(['64', '1000']);
    await redis.del(meta); // what a restart of a Redis that keeps nothing on disk leaves
    const back = new Promise((r) => conn.once('ready', r));
    conn.disconnect(true);
    await back;
    await l.acquire();
    expect(await redis.hmget(meta, 'max', 'duration')).toEqual(['64', '1000']);
  } finally {
    await l.close();
    await conn.quit();
    await clearPrefix(redis, p);
  }
});
