import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { ZaloToken } from '../../models/zalo-token';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { startZaloConnect } from '../../bot/channels/zalo/connect';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { zaloOAuthRoute } from '../../bot/channels/zalo/oauth-route';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { parseSecretsKey } from '../../lib/secret-box';
import { keepZaloTokenFresh } from '../../bot/channels/zalo/token-keeper';
import { ZaloTokenStore, type ZaloRefreshFailure } from '../../bot/channels/zalo/token-store';
import { FakeZaloServer } from '../fakes/zalo-server';
import { until } from '../support/until';
import { testZaloLimiter } from '../support/zalo';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const secretsKey = parseSecretsKey('11'.repeat(32));
let fake: FakeZaloServer;
let prefix: string;
const redises: Redis[] = [];

const limiters: ZaloRateLimiter[] = [];
function redis(): Redis {
  const r = testRedis();
  redises.push(r);
  return r;
}

function store(extra: Partial<ConstructorParameters<typeof ZaloTokenStore>[0]> = {}): ZaloTokenStore {
  const oauth = new ZaloOAuthClient({ oauthRoot: fake.url, appId: fake.appId, appSecret: fake.appSecret });
  // Each store its own Redis connection: two processes sharing one Redis.
  return new ZaloTokenStore({ appId: fake.appId, secretsKey, redis: redis(), prefix, oauth, log: logger, refreshAheadMs: 5 * 3600_000, ...extra });
}

function client(tokens: ZaloTokenStore): ZaloClient {
  const limiter = testZaloLimiter(redis(), prefix);
  limiters.push(limiter);
  return new ZaloClient({ apiRoot: fake.url, businessApiRoot: fake.url, tokens, limiter });
}

beforeAll(async () => {
  await connectTestDb('zalotokens');
  prefix = testPrefix('zalotokens');
});
beforeEach(async () => {
  fake = await new FakeZaloServer({ tokenDelayMs: 150 }).start();
  await ZaloToken.deleteMany({});
});
afterEach(() => fake.close());
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  await clearPrefix(redises[0] ?? testRedis(), prefix);
  await Promise.all(redises.map((r) => r.quit()));
  await dropTestDb();
});

test('two processes refreshing at once keep one working token, refreshed once', async () => {
  const a = store();
  const b = store();
  // A pair that expires within the refresh-ahead margin: both processes want to refresh it.
  await a.save({ ...fake.issuePair(), expiresIn: 3600 });
  const [ta, tb] = await Promise.all([a.getAccessToken(), b.getAccessToken()]);
  expect(ta).toBe(tb);
  expect(fake.refreshCalls).toBe(1);
  expect(fake.isValidAccess(ta)).toBe(true);
  // Both keep working afterwards: nobody burnt the new refresh token.
  await expect(client(a).sendText('u1', 'xin chào')).resolves.toHaveProperty('messageId');
  await expect(client(b).sendText('u1', 'xin chào')).resolves.toHaveProperty('messageId');
  expect(fake.refreshCalls).toBe(1);
});

test('tokens are encrypted at rest', async () => {
  const pair = fake.issuePair();
  await store().save(pair);
  const raw = JSON.stringify(await ZaloToken.collection.findOne({ appId: fake.appId }));
  expect(raw).not.toContain(pair.accessToken);
  expect(raw).not.toContain(pair.refreshToken);
});

test('an expired token (-220) is refreshed and the request retried once', async () => {
  const s = store();
  await s.save(fake.issuePair());
  const c = client(s);
  await c.sendText('u1', 'một');
  fake.expireAccessTokens();
  await expect(c.sendText('u1', 'hai')).resolves.toHaveProperty('messageId');
  expect(fake.refreshCalls).toBe(1);
  expect(fake.csTo('u1').map((m) => m.text)).toEqual(['một', 'hai']);
});

test('a failed refresh alerts the admins and the channel reports itself unhealthy', async () => {
  const alerts: ZaloRefreshFailure[] = [];
  const s = store({ onRefreshFailed: (f) => void alerts.push(f) });
  await s.save({ ...fake.issuePair(), expiresIn: 60 });
  expect((await s.health()).healthy).toBe(true);
  fake.failNext('access_token', -14014);
  await expect(s.getAccessToken()).rejects.toThrow(/-14014/);
  expect(alerts).toHaveLength(1);
  expect(alerts[0]).toMatchObject({ appId: fake.appId, permanent: true });
  expect(alerts[0].error).not.toMatch(/RT-|AT-/);
  expect(await s.health()).toMatchObject({ healthy: false });
});

test('connect prints a PKCE permission link; the callback stores a working pair once', async () => {
  const s = store();
  const oauth = new ZaloOAuthClient({ oauthRoot: fake.url, appId: fake.appId, appSecret: fake.appSecret });
  const app = Fastify();
  await app.register(zaloOAuthRoute({ redis: redis(), prefix, oauth, tokens: s, log: logger }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const { url } = await startZaloConnect({ redis: redis(), prefix, oauthRoot: fake.url, appId: fake.appId, redirectUri: 'https://hailong.example/oauth/zalo/callback' });
  expect(url).toContain('/v4/oa/permission?app_id=');
  const granted = await fetch(url, { redirect: 'manual' });
  const location = new URL(granted.headers.get('location')!);
  expect(location.pathname).toBe('/oauth/zalo/callback');
  const res = await fetch(`${base}${location.pathname}${location.search}`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('Đã kết nối Zalo OA');
  expect(fake.isValidAccess(await s.getAccessToken())).toBe(true);
  expect((await ZaloToken.findOne({ appId: fake.appId }).lean())?.oaId).toBe(fake.oaId);
  // The state (and its verifier) works once.
  const again = await fetch(`${base}${location.pathname}${location.search}`);
  expect(again.status).toBe(400);
  await app.close();
});

test('without any traffic, the keeper refreshes a token due for refresh once, across two processes', async () => {
  const a = store();
  const b = store();
  // Expires in an hour, inside the 5 h refresh-ahead margin; nobody sends anything.
  const first = { ...fake.issuePair(), expiresIn: 3600 };
  await a.save(first);
  const keepers = [keepZaloTokenFresh(a, logger, 50), keepZaloTokenFresh(b, logger, 50)];
  try {
    await until(async () => fake.refreshCalls >= 1 && (await ZaloToken.findOne({ appId: fake.appId }).lean())?.version === 2, 'the refresh');
    // A few more checks by both: the new pair is not due, nobody refreshes again.
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.refreshCalls).toBe(1);
    expect(fake.isValidAccess(first.accessToken)).toBe(false);
    expect(fake.isValidAccess(await a.getAccessToken())).toBe(true);
    expect((await ZaloToken.findOne({ appId: fake.appId }).lean())?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 20 * 3600_000);
  } finally {
    await Promise.all(keepers.map((k) => k.stop()));
  }
});
