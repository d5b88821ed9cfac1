import { Queue } from 'bullmq';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { issueSurveyToken } from '../../bot/survey/token';
import { QUEUE_DASHBOARD_CSP } from '../../bot/http/queue-dashboard';
import { publishPlatformSuccess } from '../../lib/platform-health';
import { FakeTelegram } from '../fakes/telegram-server';
import { FakeZaloServer } from '../fakes/zalo-server';
import { signedIn, ApiClient } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { connectedZaloClient } from '../support/zalo';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import type { ZaloClient } from '../../bot/channels/zalo/client';

const METRICS_TOKEN = 'metrics-token-for-the-test-0123456789';
const SECRETS_KEY = Buffer.alloc(32, 9).toString('base64');
const WEBHOOK_SECRET = 'obs_secret-TOKEN_1';

let tg: FakeTelegram;
let zaloFake: FakeZaloServer;
let t: TestApp;
let zalo: { client: ZaloClient; limiter: ZaloRateLimiter };
let admin: ApiClient;
let viewer: ApiClient;

beforeAll(async () => {
  tg = await FakeTelegram.start();
  zaloFake = await new FakeZaloServer().start();
  t = await startTestApp('obs', {
    METRICS_TOKEN,
    SECRETS_KEY,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ZALO_APP_ID: zaloFake.appId,
    ZALO_APP_SECRET: zaloFake.appSecret,
    ZALO_OA_SECRET_KEY: zaloFake.oaSecretKey,
    ZALO_API_ROOT: zaloFake.url,
    ZALO_OAUTH_ROOT: zaloFake.url,
    ZALO_BUSINESS_API_ROOT: zaloFake.url,
  });
  // The token pair an operator's `hailong zalo connect` leaves, in the app's database.
  zalo = await connectedZaloClient(zaloFake, t.redis, t.app.ctx.prefix, { secretsKey: SECRETS_KEY });
  admin = await signedIn(t, 'obs-admin', 'admin');
  viewer = await signedIn(t, 'obs-viewer', 'viewer', ['19870']);
});

afterAll(async () => {
  await zalo?.limiter.close();
  await t?.stop();
  await tg?.close();
  await zaloFake?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.baseUrl}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const bearer = (token = METRICS_TOKEN) => ({ authorization: `Bearer ${token}` });

/** The sample lines of an exposition: name, label set (`{…}`, or empty) and value. */
function samples(text: string): { name: string; labels: string; value: number }[] {
  return text.split('\n').flatMap((line) => {
    if (line.startsWith('#')) return [];
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    return m ? [{ name: m[1], labels: m[2] ?? '', value: Number(m[3]) }] : [];
  });
}

/** The value of one sample of the exposition text (0 when absent): `name{a="x",b="y"} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return samples(text)
    .filter((s) => s.name === name && want.every((w) => s.labels.includes(w)))
    .reduce((total, s) => total + s.value, 0);
}

async function scrape(): Promise<string> {
  const r = await get('/metrics', bearer());
  expect(r.status).toBe(200);
  return r.text;
}

async function until(check: () => Promise<boolean>, label: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GET /metrics access', () => {
  test('refuses a request without credentials with 401 and a Bearer challenge', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(r.text).not.toContain('hailong_');
  });

  test('refuses a wrong token, a token with a different length and a malformed header', async () => {
    for (const h of [
      bearer('metrics-token-for-the-test-0123456780'),
      bearer('short'),
      { authorization: METRICS_TOKEN },
      { authorization: `Basic ${METRICS_TOKEN}` },
    ]) {
      const r = await get('/metrics', h);
      expect(r.status).toBe(401);
      expect(r.text).not.toContain('hailong_');
    }
  });

  test('serves the exposition format with the configured token', async () => {
    const r = await get('/metrics', bearer());
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    for (const name of [
      'hailong_turn_duration_seconds',
      'hailong_updates_total',
      'hailong_queue_jobs',
      'hailong_job_duration_seconds',
      'hailong_job_failures_total',
      'hailong_platform_api_calls_total',
      'hailong_platform_api_errors_total',
      'hailong_broadcast_messages_total',
      'hailong_updates_dead_lettered_total',
      'hailong_invitation_funnel_total',
    ])
      expect(r.text).toContain(`# TYPE ${name} `);
  });

  test("an admin's session opens it; another role's session is refused with 403", async () => {
    const ok = await get('/metrics', { cookie: admin.cookie! });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('hailong_queue_jobs');
    const no = await get('/metrics', { cookie: viewer.cookie! });
    expect(no.status).toBe(403);
    const stale = await get('/metrics', { cookie: `${admin.cookie!.split('=')[0]}=nonsense` });
    expect(stale.status).toBe(401);
  });
});

describe('metrics move when their events happen', () => {
  test('a Telegram turn: turn latency, the update applied, Bot API calls, the funnel and the jobs it queued', async () => {
    const before = await scrape();
    const code = 'OBS-260101-0001';
    await Dossier.create({
      code,
      procedureCode: '1.001234',
      procedureName: 'Chứng thực bản sao từ bản chính',
      unitCode: '19870',
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date(),
      officerId: 'cb-07',
    });
    const { token } = await issueSurveyToken(code, new Date(), 24);
    const u = tg.user(7001);
    await u.command('/start', token);
    await tg.waitFor(() => tg.sentTo(7001).length >= 1, 20_000, 'the consent question');
    await u.tapLabel('Đồng ý');
    await tg.waitFor(() => tg.sentTo(7001).length >= 2, 20_000, 'the first question');

    let after = '';
    await until(async () => {
      after = await scrape();
      // The conversation hooks (the funnel) run after the reply, off the turn (app/conversation.ts).
      return (
        sample(after, 'hailong_job_duration_seconds_count', { queue: 'ingest', outcome: 'completed' }) >
          sample(before, 'hailong_job_duration_seconds_count', { queue: 'ingest', outcome: 'completed' }) &&
        sample(after, 'hailong_invitation_funnel_total', { stage: 'started' }) >
          sample(before, 'hailong_invitation_funnel_total', { stage: 'started' })
      );
    }, 'an ingest job completed and the survey start counted');
    const moved = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved('hailong_turn_duration_seconds_count', { channel: 'telegram' })).toBeGreaterThanOrEqual(2);
    expect(
      moved('hailong_updates_total', { channel: 'telegram', outcome: 'applied' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      moved('hailong_platform_api_calls_total', {
        platform: 'telegram',
        method: 'sendMessage',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(moved('hailong_invitation_funnel_total', { stage: 'started' })).toBe(1);
  });

  test('a Telegram 5xx and a Zalo error are counted by code, and the call that then succeeds as ok', async () => {
    const before = await scrape();
    tg.failNext('sendMessage', { code: 502 });
    await tg.user(7002).send('xin chào');
    await tg.waitFor(() => tg.sentTo(7002).length >= 1, 20_000, 'the reply after the retry');

    zaloFake.failNext('cs', -201);
    await expect(zalo.client.sendCs('246845883529197922', { text: 'Kính chào' })).rejects.toThrow();
    await zalo.client.sendCs('246845883529197922', { text: 'Kính chào' });

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved('hailong_platform_api_errors_total', { platform: 'telegram', code: '502' })).toBe(1);
    expect(moved('hailong_platform_api_errors_total', { platform: 'zalo', code: '-201' })).toBe(1);
    expect(
      moved('hailong_platform_api_calls_total', { platform: 'zalo', method: 'message/cs', outcome: 'error' }),
    ).toBe(1);
    expect(
      moved('hailong_platform_api_calls_total', { platform: 'zalo', method: 'message/cs', outcome: 'ok' }),
    ).toBe(1);
    expect(
      sample(after, 'hailong_platform_api_last_success_timestamp_seconds', { platform: 'zalo' }),
    ).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  test('a job that cannot run is a final failure of its queue; a waiting job shows in the queue depth', async () => {
    const before = await scrape();
    const ingest = new Queue('ingest', { connection: t.redis, prefix: t.app.ctx.prefix });
    const aggregate = new Queue('aggregate', { connection: t.redis, prefix: t.app.ctx.prefix });
    try {
      await ingest.add('no.such-job', {});
      await aggregate.add('later.job', {}, { delay: 3_600_000 });
      let after = '';
      await until(async () => {
        after = await scrape();
        return (
          sample(after, 'hailong_job_failures_total', { queue: 'ingest', final: 'true' }) >
          sample(before, 'hailong_job_failures_total', { queue: 'ingest', final: 'true' })
        );
      }, 'the failure counted');
      expect(
        sample(after, 'hailong_queue_jobs', { queue: 'aggregate', state: 'delayed' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample(after, 'hailong_queue_jobs', { queue: 'ingest', state: 'failed' }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample(after, 'hailong_job_duration_seconds_count', { queue: 'ingest', outcome: 'failed' }) -
          sample(before, 'hailong_job_duration_seconds_count', { queue: 'ingest', outcome: 'failed' }),
      ).toBe(1);
      // Labels name queues, channels, methods and codes: never a job id, chat or dossier. Only the
      // label sets are searched: a sample's value (CPU seconds, bytes) may hold any digits.
      const labelSets = samples(after)
        .map((s) => s.labels)
        .join('\n');
      expect(labelSets).toMatch(/queue="ingest"/);
      expect(labelSets).not.toMatch(/OBS-260101|7001|7002|246845883529197922/);
    } finally {
      await ingest.close();
      await aggregate.close();
    }
  });

  test('a broadcast: each delivery sent is counted once, by channel', async () => {
    const before = await scrape();
    await Contact.updateOne(
      { channel: 'telegram', channelUserId: '7001' },
      { $set: { consentAt: new Date(), unitCodes: ['19870'] } },
    );
    const r = await admin.post('/api/v1/broadcasts', {
      text: 'Thông báo lịch tiếp công dân',
      unitCode: '19870',
      ignoreQuietHours: true,
    });
    expect(r.status).toBe(201);
    await tg.waitFor(
      () => tg.sentTo(7001).some((m) => m.text.includes('Thông báo lịch tiếp công dân')),
      30_000,
      'the broadcast',
    );
    let after = '';
    await until(async () => {
      after = await scrape();
      return sample(after, 'hailong_broadcast_messages_total', { channel: 'telegram', outcome: 'sent' }) > 0;
    }, 'the delivery counted');
    const sent = (text: string) =>
      sample(text, 'hailong_broadcast_messages_total', { channel: 'telegram', outcome: 'sent' });
    expect(sent(after) - sent(before)).toBe(
      tg.sentTo(7001).filter((m) => m.text.includes('Thông báo lịch')).length,
    );
  });
});

describe('the queue dashboard at /admin/queues', () => {
  test('sends a browser without a session to the sign-in, and answers its API 401', async () => {
    const page = await get('/admin/queues');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fqueues');
    expect((await get('/admin/queues/api/queues')).status).toBe(401);
  });

  test('the metrics token does not open it, nor does a non-admin session (403)', async () => {
    expect((await get('/admin/queues/api/queues', bearer())).status).toBe(401);
    expect((await get('/admin/queues', { cookie: viewer.cookie! })).status).toBe(403);
    expect((await get('/admin/queues/api/queues', { cookie: viewer.cookie! })).status).toBe(403);
  });

  test('an admin sees the page and every queue under the prefix', async () => {
    const page = await get('/admin/queues', { cookie: admin.cookie! });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    // Its own policy: the default one (default-src 'none') would leave the React app unloaded.
    expect(page.headers.get('content-security-policy')).toBe(QUEUE_DASHBOARD_CSP);
    const script = /<script defer src="([^"]+\.js)"/.exec(page.text)?.[1];
    expect((await get(`/admin/queues/${script}`, { cookie: admin.cookie! })).status).toBe(200);
    const api = await get('/admin/queues/api/queues', { cookie: admin.cookie! });
    expect(api.status).toBe(200);
    const names = (JSON.parse(api.text) as { queues: Array<{ name: string }> }).queues
      .map((q) => q.name)
      .sort();
    expect(names).toEqual(
      [
        'aggregate',
        'broadcast',
        'broadcast-telegram',
        'broadcast-zalo',
        'ingest',
        'outbound',
        'outreach',
        'zalo-api',
        'zalo-inbound',
      ].sort(),
    );
  });

  test('refuses a state-changing request from another origin', async () => {
    const r = await fetch(`${t.baseUrl}/admin/queues/api/queues/ingest/retry/failed`, {
      method: 'PUT',
      headers: { cookie: admin.cookie!, origin: 'https://evil.example' },
    });
    expect(r.status).toBe(403);
    // The same request from the dashboard's own page goes through.
    const own = await fetch(`${t.baseUrl}/admin/queues/api/queues/ingest/retry/failed`, {
      method: 'PUT',
      headers: { cookie: admin.cookie!, origin: t.baseUrl },
    });
    expect(own.status).toBe(200);
  });
});

describe('GET /healthz/detail', () => {
  test('refuses without credentials', async () => {
    expect((await get('/healthz/detail')).status).toBe(401);
    expect((await get('/healthz/detail', bearer('wrong-token-wrong-token-wrong'))).status).toBe(401);
  });

  test('tells queue lag, the last platform success, the Zalo token expiry; no secret in it', async () => {
    // What each process copies to Redis every 15 s, now.
    await publishPlatformSuccess(t.redis, t.app.ctx.prefix);
    const r = await get('/healthz/detail', bearer());
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as {
      status: string;
      queues: Record<string, { waiting: number; oldestWaitS: number }>;
      platforms: Record<string, { configured: boolean; lastSuccessAt: string | null }>;
      zaloToken: { connected: boolean; expiresInS: number; refreshFailed: boolean; expiresAt: string };
      heartbeat: unknown;
    };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.queues).sort()).toContain('ingest');
    expect(body.queues.ingest).toEqual({ waiting: expect.any(Number), oldestWaitS: expect.any(Number) });
    expect(body.platforms.telegram!.configured).toBe(true);
    expect(Date.parse(body.platforms.telegram!.lastSuccessAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect(Date.parse(body.platforms.zalo!.lastSuccessAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect(body.zaloToken).toMatchObject({ connected: true, refreshFailed: false });
    expect(body.zaloToken.expiresInS).toBeGreaterThan(0);
    expect(body.heartbeat).toBeNull();
    for (const secret of [
      METRICS_TOKEN,
      SECRETS_KEY,
      WEBHOOK_SECRET,
      tg.token,
      zaloFake.appSecret,
      zaloFake.oaSecretKey,
      t.env.PHONE_HASH_KEY,
    ])
      expect(r.text).not.toContain(secret);
    expect(r.text).not.toMatch(/accessToken|refreshToken|access_token|Enc"/);
  });

  test("an admin's session opens it too", async () => {
    expect((await get('/healthz/detail', { cookie: admin.cookie! })).status).toBe(200);
    expect((await get('/healthz/detail', { cookie: viewer.cookie! })).status).toBe(403);
  });
});

describe('GET /api/v1/platforms', () => {
  test('tells an admin the connections and the Zalo token expiry, no secret; other roles get 403', async () => {
    await publishPlatformSuccess(t.redis, t.app.ctx.prefix);
    const r = await admin.get('/api/v1/platforms');
    expect(r.status).toBe(200);
    expect(r.body.telegram).toMatchObject({ configured: true });
    expect(Date.parse(String(r.body.zalo.lastSuccessAt))).toBeGreaterThan(Date.now() - 120_000);
    expect(r.body.zalo.token).toMatchObject({ known: true, connected: true, refreshFailed: false });
    expect(r.body.zalo.token.expiresInS).toBeGreaterThan(0);
    for (const secret of [SECRETS_KEY, WEBHOOK_SECRET, tg.token, zaloFake.appSecret, zaloFake.oaSecretKey])
      expect(r.text).not.toContain(secret);
    expect(r.text).not.toMatch(/accessToken|refreshToken|access_token|Enc"/);
    expect((await viewer.get('/api/v1/platforms')).status).toBe(403);
  });
});
