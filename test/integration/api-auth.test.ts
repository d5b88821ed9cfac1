import { Command } from 'commander';
import { apiPlugin } from '../../bot/http/api/plugin';
import { createHttpServer } from '../../bot/http/server';
import { registerUserCommands } from '../../cli/commands/user';
import { SessionStore } from '../../lib/auth/sessions';
import { AuditLog } from '../../models/audit-log';
import { User } from '../../models/user';
import { ApiClient, createUser, GOOD_PASSWORD, seedUnits, signedIn } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(
    'apiauth',
    { AUTH_LOGIN_MAX_FAILS_PER_USER: '3', AUTH_LOGIN_MAX_FAILS_PER_IP: '50' },
    ['http'],
  );
  await seedUnits();
});
afterAll(async () => {
  await t.stop();
});

test('sign-in sets an httpOnly, SameSite=Strict session cookie and answers the account with its CSRF token', async () => {
  await createUser(t, 'canbo.login', 'unit', ['QD-DAN-DIEN']);
  const c = new ApiClient(t.baseUrl);
  const r = await c.login('Canbo.Login', GOOD_PASSWORD);
  expect(r.status).toBe(200);
  const setCookie = r.headers.getSetCookie().join('\n');
  expect(setCookie).toMatch(
    /^hl_session=[a-f0-9]{24}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/,
  );
  expect(setCookie).not.toContain('Secure');
  expect(r.body.user).toMatchObject({ username: 'canbo.login', role: 'unit', unitCodes: ['QD-DAN-DIEN'] });
  expect(r.body.user.permissions).toContain('freeText:read');
  expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const me = await c.get('/api/v1/auth/me');
  expect(me.status).toBe(200);
  expect(me.body.csrfToken).toBe(r.body.csrfToken);
  expect(await AuditLog.countDocuments({ action: 'auth.login', actor: 'canbo.login', ip: '127.0.0.1' })).toBe(
    1,
  );
});

test('a wrong password and an unknown username get the same answer; both are audited, the unknown name is not kept', async () => {
  await createUser(t, 'canbo.sai', 'viewer', ['19870']);
  const c = new ApiClient(t.baseUrl);
  const wrong = await c.login('canbo.sai', 'not the password at all');
  const unknown = await c.login('Mật-khẩu-gõ-nhầm-ô', GOOD_PASSWORD);
  expect([wrong.status, unknown.status]).toEqual([401, 401]);
  expect(wrong.body).toEqual(unknown.body);
  expect(wrong.body.message).toMatch(/^Tên đăng nhập hoặc mật khẩu không đúng/);
  expect(wrong.headers.getSetCookie()).toEqual([]);
  const failed = await AuditLog.find({ action: 'auth.login_failed' }).lean();
  expect(failed.map((f): unknown[] => [f.actor, f.details])).toEqual(
    expect.arrayContaining([
      ['canbo.sai', { reason: 'bad_password' }],
      ['anonymous', { reason: 'unknown_user' }],
    ]),
  );
  expect(JSON.stringify(failed)).not.toContain('gõ-nhầm');
});

test('too many failures lock the username with a Vietnamese message, the wait and Retry-After; success no longer possible until then', async () => {
  await createUser(t, 'canbo.khoa', 'viewer', ['19870']);
  const c = new ApiClient(t.baseUrl);
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push((await c.login('canbo.khoa', `wrong password ${i}`)).status);
  expect(answers).toEqual([401, 401, 429]);
  const locked = await c.login('canbo.khoa', GOOD_PASSWORD);
  expect(locked.status).toBe(429);
  expect(locked.body.error).toBe('too_many_attempts');
  expect(locked.body.message).toMatch(
    /^Ông\/Bà đã đăng nhập sai quá nhiều lần\. Vui lòng thử lại sau 15 phút\./,
  );
  expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
  expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
  // Another username from the same address is not locked by it.
  expect((await new ApiClient(t.baseUrl).login('canbo.login', GOOD_PASSWORD)).status).toBe(200);
});

test('a state-changing request with the cookie needs the CSRF token (api-framework.test.ts: a Bearer key does not)', async () => {
  const admin = await signedIn(t, 'admin.csrf', 'admin');
  const body = { username: 'canbo.moi', password: GOOD_PASSWORD, role: 'viewer', unitCodes: ['19870'] };
  const none = await admin.request('POST', '/api/v1/users', { body, csrf: false });
  expect(none.status).toBe(403);
  expect(none.body.error).toBe('csrf_failed');
  const wrong = await admin.request('POST', '/api/v1/users', {
    body,
    csrf: false,
    headers: { 'x-csrf-token': 'x'.repeat(43) },
  });
  expect(wrong.status).toBe(403);
  expect(await User.countDocuments({ username: 'canbo.moi' })).toBe(0);
  const ok = await admin.post('/api/v1/users', body);
  expect(ok.status).toBe(201);

  const created = await admin.post('/api/v1/api-keys', { name: 'Một cửa huyện', unitCodes: ['477'] });
  expect(created.status).toBe(201);
  const machine = new ApiClient(t.baseUrl, String(created.body.key));
  expect((await machine.get('/api/v1/units')).status).toBe(200);
  // The officials' own routes are not for keys.
  const logout = await machine.post('/api/v1/auth/logout');
  expect(logout.status).toBe(403);
  expect(logout.body.error).toBe('forbidden');
});

test('a disabled account’s session stops at once (API), and sign-in is refused', async () => {
  const admin = await signedIn(t, 'admin.khoa', 'admin');
  const victim = await signedIn(t, 'canbo.bikhoa', 'unit', ['QD-DAN-DIEN']);
  expect((await victim.get('/api/v1/units')).status).toBe(200);
  const r = await admin.request('PATCH', '/api/v1/users/canbo.bikhoa', { body: { disabled: true } });
  expect(r.status).toBe(200);
  expect(r.body.disabled).toBe(true);
  const after = await victim.get('/api/v1/units');
  expect(after.status).toBe(401);
  const again = await new ApiClient(t.baseUrl).login('canbo.bikhoa', GOOD_PASSWORD);
  expect(again.status).toBe(403);
  expect(again.body.error).toBe('account_disabled');
  expect(
    await AuditLog.countDocuments({ action: 'user.disabled', targetId: 'canbo.bikhoa', actor: 'admin.khoa' }),
  ).toBe(1);
});

test('`hailong user disable` ends the account’s sessions at once too', async () => {
  const victim = await signedIn(t, 'canbo.cli', 'viewer', ['19870']);
  expect((await victim.get('/api/v1/auth/me')).status).toBe(200);
  process.env.MONGODB_URI = t.env.MONGODB_URI;
  process.env.REDIS_PREFIX = t.env.REDIS_PREFIX;
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    const program = new Command().exitOverride();
    registerUserCommands(program);
    await program.parseAsync(['user', 'disable', 'canbo.cli'], { from: 'user' });
  } finally {
    log.mockRestore();
  }
  expect(out).toEqual(['canbo.cli: đã khoá / disabled']);
  expect((await victim.get('/api/v1/auth/me')).status).toBe(401);
});

test('changing one’s password ends the other sessions and keeps this one (new cookie, new CSRF token)', async () => {
  const a = await signedIn(t, 'canbo.doimk', 'unit', ['19870']);
  const b = new ApiClient(t.baseUrl);
  expect((await b.login('canbo.doimk', GOOD_PASSWORD)).status).toBe(200);
  const oldCsrf = a.csrf;
  const weak = await a.post('/api/v1/auth/change-password', {
    currentPassword: GOOD_PASSWORD,
    newPassword: 'password1234',
  });
  expect(weak.status).toBe(422);
  expect(weak.body.details).toEqual([
    { path: 'newPassword', in: 'body', message: expect.stringMatching(/^Mật khẩu này quá phổ biến/) },
  ]);
  expect((await b.get('/api/v1/auth/me')).status).toBe(200);

  const next = 'Đò xuôi Thượng Hải 2026';
  const r = await a.post('/api/v1/auth/change-password', {
    currentPassword: GOOD_PASSWORD,
    newPassword: next,
  });
  expect(r.status).toBe(200);
  expect(a.csrf).not.toBe(oldCsrf);
  expect((await a.get('/api/v1/auth/me')).status).toBe(200);
  expect((await b.get('/api/v1/auth/me')).status).toBe(401);
  expect((await new ApiClient(t.baseUrl).login('canbo.doimk', GOOD_PASSWORD)).status).toBe(401);
  expect((await new ApiClient(t.baseUrl).login('canbo.doimk', next)).status).toBe(200);
});

test('an admin’s password reset ends the account’s sessions', async () => {
  const admin = await signedIn(t, 'admin.reset', 'admin');
  const user = await signedIn(t, 'canbo.reset', 'viewer', ['19870']);
  const r = await admin.post('/api/v1/users/canbo.reset/reset-password', {
    password: 'Mưa dầm thấm lâu ở Huế',
  });
  expect(r.status).toBe(200);
  expect((await user.get('/api/v1/auth/me')).status).toBe(401);
});

test('sign-out ends the session and clears the cookie', async () => {
  const c = await signedIn(t, 'canbo.thoat', 'viewer', ['19870']);
  const cookie = c.cookie;
  const r = await c.post('/api/v1/auth/logout');
  expect(r.status).toBe(204);
  expect(c.cookie).toBeNull();
  c.cookie = cookie;
  expect((await c.get('/api/v1/auth/me')).status).toBe(401);
});

test('the session ends after its idle time and at its absolute limit', async () => {
  let now = new Date('2026-01-05T01:00:00Z');
  const store = new SessionStore(t.redis, t.env.REDIS_PREFIX, { idleMs: 300, maxMs: 60_000 }, () => now);
  const user = { id: 'a'.repeat(24), username: 'x', role: 'viewer' as const, unitCodes: ['19870'] };
  const idle = await store.create(user, await store.generation(user.id));
  expect(await store.resolve(idle.token)).not.toBeNull();
  await new Promise((r) => setTimeout(r, 700));
  expect(await store.resolve(idle.token)).toBeNull();

  const long = new SessionStore(t.redis, t.env.REDIS_PREFIX, { idleMs: 60_000, maxMs: 60_000 }, () => now);
  const s = await long.create(user, await long.generation(user.id));
  now = new Date(now.getTime() + 59_000);
  expect(await long.resolve(s.token)).not.toBeNull();
  now = new Date(now.getTime() + 1_000);
  expect(await long.resolve(s.token)).toBeNull();
});

test('with an https PUBLIC_URL the cookie is Secure and __Host- prefixed', async () => {
  // The API plugin alone on a second server of this process (one mongoose connection per process).
  const server = createHttpServer({ bodyLimit: 65536 });
  const env = { ...t.env, PUBLIC_URL: 'https://hailong.example.gov.vn' };
  await server.register(apiPlugin({ ctx: { ...t.app.ctx, env } }));
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    await createUser(t, 'admin.https', 'admin');
    const c = new ApiClient(address);
    const r = await c.login('admin.https', GOOD_PASSWORD);
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie().join('\n')).toMatch(
      /^__Host-hl_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    // Cleared with the same attributes: a browser ignores a __Host- cookie cleared without Secure.
    const out = await c.post('/api/v1/auth/logout');
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join('\n')).toMatch(
      /^__Host-hl_session=; Max-Age=0; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/,
    );
  } finally {
    await server.close();
  }
});
