import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { ZaloToken } from '../../models/zalo-token';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloProactiveSender } from '../../bot/channels/zalo/proactive';
import { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { parseSecretsKey } from '../../bot/channels/zalo/token-crypto';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { FakeZaloServer } from '../fakes/zalo-server';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

let fake: FakeZaloServer;
let prefix: string;
let redis: Redis;
let client: ZaloClient;
let limiter: ZaloRateLimiter;
const NOON = Date.parse('2026-03-10T12:00:00+07:00');
const invitation = { messages: [{ kind: 'text' as const, text: 'Mời Ông/Bà đánh giá hồ sơ H57-1' }], vars: { ma: 'H57-1', donvi: 'UBND xã', thutuc: 'Cấp bản sao' }, dossierCode: 'H57-1' };

function sender(now = NOON): ZaloProactiveSender {
  return new ZaloProactiveSender({
    client,
    redis,
    prefix,
    log: logger,
    csWindowMs: 7 * 24 * 3600_000,
    ratingTemplateId: 'TPL-RATING',
    templateByUid: true,
    templateMode: 'production',
    templateParams: ['ma_ho_so=ma', 'ten_don_vi=donvi'],
    quietHours: { start: '21:00', end: '07:00' },
    now: () => now,
  });
}

beforeAll(async () => {
  await connectTestDb('zaloproactive');
  prefix = testPrefix('zaloproactive');
  redis = testRedis();
  fake = await new FakeZaloServer().start();
  const tokens = new ZaloTokenStore({
    appId: fake.appId,
    secretsKey: parseSecretsKey('33'.repeat(32)),
    redis,
    prefix,
    oauth: new ZaloOAuthClient({ oauthRoot: fake.url, appId: fake.appId, appSecret: fake.appSecret }),
    log: logger,
    refreshAheadMs: 0,
  });
  await tokens.save(fake.issuePair());
  limiter = new ZaloRateLimiter({ redis, prefix, limit: 4000, maxWaitMs: 0 });
  client = new ZaloClient({ apiRoot: fake.url, businessApiRoot: fake.url, tokens, limiter, rateLimitBackoffMs: 60_000 });
});
afterAll(async () => {
  await fake.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

test('inside the 7-day window a consultation message is sent', async () => {
  await Contact.create({ channel: 'zalo', channelUserId: 'u-in', lastInteractionAt: new Date(NOON - 3600_000) });
  expect(await sender().send({ ...invitation, userId: 'u-in' })).toMatchObject({ status: 'sent', via: 'cs' });
  expect(fake.csTo('u-in').map((m) => m.text)).toEqual(['Mời Ông/Bà đánh giá hồ sơ H57-1']);
});

test('-230 (no interaction in 7 days) falls back to the rating template by user id', async () => {
  await Contact.create({ channel: 'zalo', channelUserId: 'u-230', lastInteractionAt: new Date(NOON - 3600_000) });
  fake.failNext('cs', -230);
  const result = await sender().send({ ...invitation, userId: 'u-230' });
  expect(result).toMatchObject({ status: 'sent', via: 'template_uid' });
  const tpl = fake.sent.filter((s) => s.endpoint === 'template' && s.body.user_id === 'u-230');
  expect(tpl).toHaveLength(1);
  expect(tpl[0].body).toMatchObject({ template_id: 'TPL-RATING', template_data: { ma_ho_so: 'H57-1', ten_don_vi: 'UBND xã' } });
  expect(fake.csTo('u-230')).toHaveLength(0);
});

test('outside the window (quota pre-flight) a template refused by UID goes by phone; no Zalo account is reported', async () => {
  fake.lastInteraction.set('u-old', NOON - 30 * 24 * 3600_000);
  fake.failNext('template', -249);
  const byPhone = await sender().send({ ...invitation, userId: 'u-old', phone: '0912 345 678' });
  expect(byPhone).toMatchObject({ status: 'sent', via: 'template_phone' });
  expect(fake.sent.filter((s) => s.endpoint === 'business_template').at(-1)!.body).toMatchObject({ phone: '84912345678', tracking_id: 'H57-1' });
  fake.phonesWithoutZalo.add('84987654321');
  expect(await sender().send({ ...invitation, phone: '0987654321' })).toEqual({ status: 'no_zalo_account' });
});

test('quiet hours hold template sends', async () => {
  const night = Date.parse('2026-03-10T22:30:00+07:00');
  const before = fake.sent.length;
  const result = await sender(night).send({ ...invitation, phone: '0912345678' });
  expect(result).toEqual({ status: 'held', until: new Date('2026-03-11T00:00:00.000Z') });
  expect(fake.sent.length).toBe(before);
});

test('-244 marks the contact blocked and later invitations skip it', async () => {
  await Contact.create({ channel: 'zalo', channelUserId: 'u-244', lastInteractionAt: new Date(NOON - 3600_000) });
  fake.failNext('cs', -244);
  expect(await sender().send({ ...invitation, userId: 'u-244' })).toEqual({ status: 'skipped', reason: 'blocked' });
  expect((await Contact.findOne({ channelUserId: 'u-244' }).lean())?.blockedAt).toBeInstanceOf(Date);
  const before = fake.sent.length;
  expect(await sender().send({ ...invitation, userId: 'u-244' })).toEqual({ status: 'skipped', reason: 'blocked' });
  expect(fake.sent.length).toBe(before);
});

test('-32 pauses all Zalo traffic through the shared limiter', async () => {
  fake.failNext('cs', -32);
  await expect(client.sendText('u-in', 'x')).rejects.toMatchObject({ code: -32, reason: 'rate_limited' });
  // Another process's limiter (same Redis, same prefix) now waits too.
  const other = new ZaloRateLimiter({ redis, prefix, limit: 4000 });
  expect(await other.tryTake()).toBeGreaterThan(0);
  await redis.del(`${prefix}:zalo:rl:pause`);
  expect(await other.tryTake()).toBe(0);
});

test('the limiter never lets more than the limit through in a window, across instances', async () => {
  const p = `${prefix}x`;
  const a = new ZaloRateLimiter({ redis, prefix: p, limit: 3, windowMs: 60_000 });
  const b = new ZaloRateLimiter({ redis, prefix: p, limit: 3, windowMs: 60_000 });
  const results = await Promise.all([a.tryTake(), b.tryTake(), a.tryTake(), b.tryTake(), a.tryTake()]);
  expect(results.filter((r) => r === 0)).toHaveLength(3);
  await expect(new ZaloRateLimiter({ redis, prefix: p, limit: 3, maxWaitMs: 0 }).acquire()).rejects.toThrow(/rate limit/);
  await clearPrefix(redis, p);
});
