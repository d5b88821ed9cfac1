import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { ZaloToken } from '../../models/zalo-token';
import { decodeAction } from '../../bot/engine/callback-data';
import type { Choice } from '../../bot/engine/types';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZaloApiError, ZaloHttpError } from '../../bot/channels/zalo/errors';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloRateLimitedError } from '../../bot/channels/zalo/rate-limiter';
import { renderForZalo } from '../../bot/channels/zalo/renderer';
import { parseSecretsKey } from '../../lib/secret-box';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { FakeZaloServer, type FakeSent } from '../fakes/zalo-server';
import { testZaloLimiter } from '../support/zalo';
import { until } from '../support/until';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The typed Zalo client (bot/channels/zalo/client.ts) against the fake Zalo platform, which
 * validates every body as Zalo documents it (docs/platform-limits.md): each method's request is
 * accepted, and each refusal Zalo documents comes back as an error of its cause.
 */
const prefix = testPrefix('zaloclient');
const PHONE = '84912345678';
let fake: FakeZaloServer;
let redis: Redis;
let main: BuiltClient;

interface BuiltClient {
  client: ZaloClient;
  tokens: ZaloTokenStore;
  close(): Promise<void>;
}

/**
 * The one place this file builds a client, as a process does: token store, OAuth client, the
 * shared rate limiter, the client. Tokens live in MongoDB per app id, so every client built here
 * uses the pair stored last.
 */
function buildClient(platform: FakeZaloServer, keyPrefix: string): BuiltClient {
  const tokens = new ZaloTokenStore({
    appId: platform.appId,
    secretsKey: parseSecretsKey('44'.repeat(32)),
    redis,
    prefix: keyPrefix,
    oauth: new ZaloOAuthClient({
      oauthRoot: platform.url,
      appId: platform.appId,
      appSecret: platform.appSecret,
    }),
    log: logger,
    refreshAheadMs: 0,
  });
  // maxWaitMs 0: after a -32 the next request fails at once instead of waiting out the pause.
  const limiter = testZaloLimiter(redis, keyPrefix, { maxWaitMs: 0 });
  const client = new ZaloClient({
    apiRoot: platform.url,
    businessApiRoot: platform.url,
    tokens,
    limiter,
    rateLimitBackoffMs: 60_000,
  });
  return { client, tokens, close: () => limiter.close() };
}

beforeAll(async () => {
  await connectTestDb('zaloclient');
  redis = testRedis();
  fake = await new FakeZaloServer().start();
  main = buildClient(fake, prefix);
  await main.tokens.save(fake.issuePair());
});

afterAll(async () => {
  await main.close();
  await fake.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

// Every request of every test was a valid one (the tests of refusals inject them with failNext).
afterEach(() => expect(fake.invalid.splice(0)).toEqual([]));

function lastSent(endpoint: FakeSent['endpoint']): FakeSent {
  const s = fake.sent.filter((x) => x.endpoint === endpoint).at(-1);
  if (!s) throw new Error(`nothing sent to ${endpoint}`);
  return s;
}

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('the request succeeded');
}

describe('requests the fake accepts', () => {
  test('sendText sends a consultation text and returns its message id', async () => {
    const sent = await main.client.sendText('u-text', 'Xin chào Ông/Bà');
    const s = lastSent('cs');
    expect(sent.messageId).toBe(s.messageId);
    expect(s.body).toEqual({ recipient: { user_id: 'u-text' }, message: { text: 'Xin chào Ông/Bà' } });
  });

  test('a question with five choices goes as five oa.query.hide buttons, without template_type', async () => {
    const labels = [
      '1. Rất không hài lòng',
      '2. Không hài lòng',
      '3. Bình thường',
      '4. Hài lòng',
      '5. Rất hài lòng',
    ];
    const choices: Choice[][] = labels.map((label, i) => [
      { label, action: { kind: 'pick', step: 4, node: 'q1', value: String(i + 1) } },
    ]);
    const rendered = renderForZalo([
      {
        kind: 'question',
        node: 'q1',
        step: 4,
        text: 'Ông/Bà hài lòng với thái độ phục vụ?',
        choices,
        expects: 'choice',
        optional: false,
      },
    ]);
    expect(rendered).toHaveLength(1);
    await main.client.sendCs('u-question', rendered[0]!);
    const message = lastSent('cs').body.message as {
      text: string;
      attachment: {
        type: string;
        payload: { buttons: Array<{ title: string; type: string; payload: string }> };
      };
    };
    expect(message.text).toBe('Ông/Bà hài lòng với thái độ phục vụ?');
    expect(message.attachment.type).toBe('template');
    expect(Object.keys(message.attachment.payload)).toEqual(['buttons']);
    const buttons = message.attachment.payload.buttons;
    expect(buttons.map((b) => [b.title, b.type])).toEqual(labels.map((l) => [l, 'oa.query.hide']));
    expect(buttons.map((b) => decodeAction(b.payload))).toEqual(
      labels.map((_, i) => ({ kind: 'pick', step: 4, node: 'q1', value: String(i + 1) })),
    );
  });

  test('sendImage sends one image element, by URL with a caption or by attachment id without', async () => {
    await main.client.sendImage(
      'u-image',
      { url: 'https://example.gov.vn/so-do.png' },
      'Sơ đồ bộ phận một cửa',
    );
    expect(lastSent('cs').body.message).toEqual({
      text: 'Sơ đồ bộ phận một cửa',
      attachment: {
        type: 'template',
        payload: {
          template_type: 'media',
          elements: [{ media_type: 'image', url: 'https://example.gov.vn/so-do.png' }],
        },
      },
    });
    await main.client.sendImage('u-image', { attachmentId: 'att-7d' });
    expect(lastSent('cs').body.message).toEqual({
      attachment: {
        type: 'template',
        payload: { template_type: 'media', elements: [{ media_type: 'image', attachment_id: 'att-7d' }] },
      },
    });
  });

  test('sendTemplateByUid sends the rating template to a user id', async () => {
    const sent = await main.client.sendTemplateByUid('u-tpl', 'TPL-RATING', {
      ma_ho_so: 'H57-1',
      ten_don_vi: 'UBND xã',
    });
    const s = lastSent('template');
    expect(sent.messageId).toBe(s.messageId);
    expect(s.body).toEqual({
      user_id: 'u-tpl',
      template_id: 'TPL-RATING',
      template_data: { ma_ho_so: 'H57-1', ten_don_vi: 'UBND xã' },
    });
  });

  test('the service-rating template goes by phone with the dossier code as tracking id, in development mode', async () => {
    const sent = await main.client.sendTemplateByPhone(
      PHONE,
      'TPL-RATING',
      { ma_ho_so: 'H57.22-260301-0001' },
      { trackingId: 'H57.22-260301-0001', mode: 'development' },
    );
    const s = lastSent('business_template');
    expect(sent.messageId).toBe(s.messageId);
    expect(s.body).toEqual({
      phone: PHONE,
      template_id: 'TPL-RATING',
      template_data: { ma_ho_so: 'H57.22-260301-0001' },
      tracking_id: 'H57.22-260301-0001',
      mode: 'development',
    });
    // Production is Zalo's default and has no mode value; a tracking id is cut to Zalo's 48.
    await main.client.sendTemplateByPhone(
      PHONE,
      'TPL-RATING',
      {},
      { trackingId: 'x'.repeat(60), mode: 'production' },
    );
    expect(lastSent('business_template').body).toEqual({
      phone: PHONE,
      template_id: 'TPL-RATING',
      template_data: {},
      tracking_id: 'x'.repeat(48),
    });
  });

  test('getUserDetail reads the follower flag and, once shared through the form, the phone', async () => {
    fake.followers.push('u-detail');
    expect(await main.client.getUserDetail('u-detail')).toEqual({
      userId: 'u-detail',
      displayName: 'Người dùng',
      isFollower: true,
      lastInteractionDate: '01/01/2026',
      sharedPhone: null,
    });
    fake.submitInfoEvent('u-detail', { name: 'Lê Văn C', phone: '0912 000 111' });
    expect(await main.client.getUserDetail('u-detail')).toMatchObject({ sharedPhone: '84912000111' });
    expect(await main.client.getUserDetail('u-stranger')).toMatchObject({
      isFollower: false,
      sharedPhone: null,
    });
  });

  test('getFollowers pages through more than 50 followers, 50 at a time', async () => {
    fake.followers.push(...Array.from({ length: 60 }, (_, i) => `f-${i}`));
    const total = fake.followers.length;
    const first = await main.client.getFollowers({ lastInteractionPeriod: 'L7D' });
    expect(first.total).toBe(total);
    expect(first.userIds).toHaveLength(50);
    const second = await main.client.getFollowers({ offset: 50, count: 80 });
    expect(second.userIds).toHaveLength(total - 50);
    expect([...first.userIds, ...second.userIds]).toEqual(fake.followers);
  });

  test('getQuota reads the last interaction and the consultation quota', async () => {
    const last = Date.now() - 3600_000;
    fake.lastInteraction.set('u-quota', last);
    expect(await main.client.getQuota('u-quota')).toEqual({ lastInteraction: last, csRemain: 8 });
    expect(await main.client.getQuota('u-never')).toEqual({ lastInteraction: null, csRemain: 8 });
  });
});

describe('refusals by cause', () => {
  test('an invalid or expired token (-216, -220, -124 on the business API) is refreshed and the request retried once', async () => {
    const calls = async (send: () => Promise<unknown>) => {
      const [errors, requests, refreshes] = [
        fake.errorsAnswered.length,
        fake.requestTimes.length,
        fake.refreshCalls,
      ];
      await send();
      return {
        errors: fake.errorsAnswered.slice(errors).map((e) => e.code),
        requests: fake.requestTimes.length - requests,
        refreshes: fake.refreshCalls - refreshes,
      };
    };
    // -216: Zalo does not know the stored access token (its refresh token is good).
    const pair = fake.issuePair();
    await main.tokens.save({ ...pair, accessToken: 'AT-unknown' });
    expect(await calls(() => main.client.sendText('u-token', 'một'))).toEqual({
      errors: [-216],
      requests: 2,
      refreshes: 1,
    });
    // -220: the access token expired.
    fake.expireAccessTokens();
    expect(await calls(() => main.client.sendText('u-token', 'hai'))).toEqual({
      errors: [-220],
      requests: 2,
      refreshes: 1,
    });
    // -124: the business (ZNS) API's name for it.
    fake.expireAccessTokens();
    expect(await calls(() => main.client.sendTemplateByPhone(PHONE, 'TPL-RATING', {}))).toEqual({
      errors: [-124],
      requests: 2,
      refreshes: 1,
    });
    expect(fake.csTo('u-token').map((m) => m.text)).toEqual(['một', 'hai']);
  });

  test('a token refused again right after the refresh surfaces as token_expired', async () => {
    const refreshes = fake.refreshCalls;
    fake.failNext('cs', -220, 2);
    const err = await refusal(main.client.sendText('u-token', 'ba'));
    expect(err).toBeInstanceOf(ZaloApiError);
    expect(err).toMatchObject({ code: -220, reason: 'token_expired', endpoint: 'message/cs' });
    expect(fake.refreshCalls).toBe(refreshes + 1);
  });

  test.each([
    { code: -230, endpoint: 'cs' as const, reason: 'out_of_window', mark: undefined },
    { code: -213, endpoint: 'cs' as const, reason: 'recipient_unavailable', mark: 'unsubscribed' },
    { code: -224, endpoint: 'cs' as const, reason: 'permanent', mark: undefined },
    { code: -144, endpoint: 'business_template' as const, reason: 'transient', mark: undefined },
  ])('$code is refused as $reason', async ({ code, endpoint, reason, mark }) => {
    fake.failNext(endpoint, code);
    const send =
      endpoint === 'cs'
        ? main.client.sendText('u-refused', 'x')
        : main.client.sendTemplateByPhone(PHONE, 'TPL-RATING', { ma_ho_so: 'H57-1' });
    const err = await refusal(send);
    expect(err).toBeInstanceOf(ZaloApiError);
    expect(err).toMatchObject({ code, reason, mark });
  });

  test('-118: a phone without a Zalo account is refused as no_zalo_account', async () => {
    fake.phonesWithoutZalo.add('84987654321');
    const err = await refusal(
      main.client.sendTemplateByPhone('84987654321', 'TPL-RATING', {}, { trackingId: 'H57-2' }),
    );
    expect(err).toBeInstanceOf(ZaloApiError);
    expect(err).toMatchObject({ code: -118, reason: 'no_zalo_account' });
    expect(fake.errorsAnswered.at(-1)).toEqual({ endpoint: 'business_template', code: -118 });
  });

  test('an HTTP 500 or an answer that is not JSON is a transient ZaloHttpError', async () => {
    fake.failNext('cs', { http: 500, body: 'Internal Server Error' });
    const e500 = await refusal(main.client.sendText('u-http', 'x'));
    expect(e500).toBeInstanceOf(ZaloHttpError);
    expect(e500).toMatchObject({ status: 500, reason: 'transient', endpoint: 'message/cs' });
    fake.failNext('quota', { http: 200, body: '<html><body>Bảo trì hệ thống</body></html>' });
    const html = await refusal(main.client.getQuota('u-http'));
    expect(html).toBeInstanceOf(ZaloHttpError);
    expect(html).toMatchObject({ status: 200, reason: 'transient', endpoint: 'quota/message' });
  });

  test('-32 is rate_limited and pauses the shared limiter: the next request fails at once with its rate-limit error', async () => {
    // Its own key prefix, so the pause (a minute) stops only this client's limiter.
    const keyPrefix = `${prefix}rl`;
    const paused = buildClient(fake, keyPrefix);
    try {
      fake.failNext('cs', -32);
      const err = await refusal(paused.client.sendText('u-rl', 'một'));
      expect(err).toBeInstanceOf(ZaloApiError);
      expect(err).toMatchObject({ code: -32, reason: 'rate_limited' });
      const requests = fake.requestTimes.length;
      await expect(paused.client.sendText('u-rl', 'hai')).rejects.toBeInstanceOf(ZaloRateLimitedError);
      expect(fake.requestTimes.length).toBe(requests);
      expect(fake.csTo('u-rl')).toEqual([]);
    } finally {
      await paused.close();
      await clearPrefix(redis, keyPrefix);
    }
  });
});

describe('the fake itself', () => {
  /** A raw request with the fake's current token, to send what our client never would. */
  async function raw(
    platform: FakeZaloServer,
    path: string,
    body: unknown,
  ): Promise<{ body: { error: number; message: string }; limit: string | null; remain: string | null }> {
    const { accessToken } = platform.issuePair();
    const res = await fetch(`${platform.url}${path}`, {
      method: 'POST',
      headers: { access_token: accessToken, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return {
      body: (await res.json()) as { error: number; message: string },
      limit: res.headers.get('x-ratelimit-limit'),
      remain: res.headers.get('x-ratelimit-remain'),
    };
  }

  const to = { recipient: { user_id: 'u-bad' } };
  const query = (payload: unknown) => ({ title: 'Có', type: 'oa.query.hide', payload });
  const buttons = (list: unknown[], extra: Record<string, unknown> = {}) => ({
    ...to,
    message: { text: 'Câu hỏi', attachment: { type: 'template', payload: { ...extra, buttons: list } } },
  });
  const image = (elements: unknown[]) => ({
    ...to,
    message: { attachment: { type: 'template', payload: { template_type: 'media', elements } } },
  });
  const zns = { phone: PHONE, template_id: 'TPL-RATING', template_data: {} };

  const invalidRequests: Array<[path: string, body: unknown, field: string]> = [
    ['/v3.0/oa/message/cs', { message: { text: 'x' } }, 'recipient.user_id'],
    ['/v3.0/oa/message/cs', { ...to, message: {} }, 'message.text'],
    ['/v3.0/oa/message/cs', { ...to, message: { text: 'x'.repeat(2001) } }, 'message.text'],
    [
      '/v3.0/oa/message/cs',
      buttons([query('p:1:q1:a')], { template_type: 'button' }),
      'message.attachment.payload.template_type',
    ],
    ['/v3.0/oa/message/cs', buttons([]), 'message.attachment.payload.buttons'],
    [
      '/v3.0/oa/message/cs',
      buttons(Array.from({ length: 6 }, () => query('p'))),
      'message.attachment.payload.buttons',
    ],
    [
      '/v3.0/oa/message/cs',
      buttons([{ ...query('p'), title: '' }]),
      'message.attachment.payload.buttons[0].title',
    ],
    [
      '/v3.0/oa/message/cs',
      buttons([query('p'.repeat(1001))]),
      'message.attachment.payload.buttons[0].payload',
    ],
    [
      '/v3.0/oa/message/cs',
      buttons([query('p'), { title: 'Gọi', type: 'oa.open.call', payload: { phone_code: '1022' } }]),
      'message.attachment.payload.buttons[1].type',
    ],
    [
      '/v3.0/oa/message/cs',
      buttons([{ title: 'Mở', type: 'oa.open.url', payload: 'https://example.gov.vn' }]),
      'message.attachment.payload.buttons[0].payload.url',
    ],
    [
      '/v3.0/oa/message/cs',
      buttons([{ title: 'Gọi', type: 'oa.open.phone', payload: { phone: '1022' } }]),
      'message.attachment.payload.buttons[0].payload.phone_code',
    ],
    ['/v3.0/oa/message/cs', image([]), 'message.attachment.payload.elements'],
    ['/v3.0/oa/message/cs', image([{ media_type: 'image' }]), 'message.attachment.payload.elements[0].url'],
    [
      '/v3.0/oa/message/cs',
      image([{ media_type: 'gif', url: 'https://example.gov.vn/a.gif' }]),
      'message.attachment.payload.elements[0].media_type',
    ],
    [
      '/v3.0/oa/message/template',
      { user_id: 'u-bad', template_id: 'T', template_data: 'x' },
      'template_data',
    ],
    ['/v3.0/oa/message/template', { user_id: 'u-bad', template_data: {} }, 'template_id'],
    ['/message/template', { ...zns, tracking_id: 'x'.repeat(49) }, 'tracking_id'],
    ['/message/template', { ...zns, mode: 'production' }, 'mode'],
    ['/message/template', { ...zns, template_data: null }, 'template_data'],
    ['/v3.0/oa/quota/message', { user_id: 42 }, 'user_id'],
  ];
  test.each(invalidRequests.map(([path, body, field]) => ({ path, body, field })))(
    '$path refuses a request with an invalid $field with -201 naming it (case $#)',
    async ({ path, body, field }) => {
      expect((await raw(fake, path, body)).body).toEqual({ error: -201, message: `${field} is invalid!` });
      expect(fake.invalid.splice(0)).toEqual([expect.objectContaining({ field })]);
    },
  );

  test('its own per-app rate limit answers -32 beyond its max in a sliding window, with Zalo’s headers', async () => {
    const windowMs = 400;
    const limited = await new FakeZaloServer({ rateLimit: { max: 3, windowMs } }).start();
    try {
      const quota = () => raw(limited, '/v3.0/oa/quota/message', { user_id: 'u1' });
      const answers: Array<Awaited<ReturnType<typeof quota>>> = [];
      for (let i = 0; i < 4; i++) answers.push(await quota());
      expect(answers.map((a) => [a.body.error, a.limit, a.remain])).toEqual([
        [0, '3', '2'],
        [0, '3', '1'],
        [0, '3', '0'],
        [-32, '3', '0'],
      ]);
      expect(answers[3]!.body.message).toBe('Your application reached limit call api');
      expect(limited.rateLimited).toBe(1);
      expect(limited.requestTimes).toHaveLength(4);
      // OAuth is not an API request: not counted, no headers.
      const token = await fetch(`${limited.url}/v4/oa/access_token`, {
        method: 'POST',
        body: 'grant_type=x',
      });
      expect(token.headers.get('x-ratelimit-remain')).toBeNull();
      expect(limited.requestTimes).toHaveLength(4);
      // Once the admitted requests are older than the window, requests pass again.
      await until(() => Date.now() > limited.requestTimes[2]! + windowMs, 'the window to slide past');
      expect(await quota()).toMatchObject({ body: { error: 0 }, remain: '2' });
      expect(limited.rateLimited).toBe(1);
    } finally {
      await limited.close();
    }
  });
});
