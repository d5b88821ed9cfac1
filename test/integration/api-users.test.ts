import { Readable } from 'node:stream';
import { Command } from 'commander';
import { registerUserCommands } from '../../cli/commands/user';
import { verifyPassword } from '../../lib/auth/password';
import { AuditLog } from '../../models/audit-log';
import { User } from '../../models/user';
import { ApiClient, GOOD_PASSWORD, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';

let t: TestApp;
let admin: ApiClient;

beforeAll(async () => {
  t = await startTestApp('apiusers', {}, ['http']);
  await seedUnits();
  process.env.MONGODB_URI = t.env.MONGODB_URI;
  process.env.REDIS_PREFIX = t.env.REDIS_PREFIX;
  admin = await signedIn(t, 'admin.users', 'admin');
});
afterAll(async () => {
  await t.stop();
});

type Entry = { seq: number; action: string; actor: string };
const unitCodes = (r: ApiResponse): string[] => (r.body.units as Array<{ code: string }>).map((u) => u.code);

/** Runs `hailong user …` in this process, as the CLI would, with stdin when given. */
async function cli(args: string[], stdin?: string): Promise<{ out: string; exitCode: number | undefined }> {
  const lines: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const realStdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  if (stdin !== undefined)
    Object.defineProperty(process, 'stdin', { value: Readable.from([`${stdin}\n`]), configurable: true });
  process.exitCode = undefined;
  try {
    const program = new Command().exitOverride();
    registerUserCommands(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    err.mockRestore();
    Object.defineProperty(process, 'stdin', realStdin);
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  process.exitCode = undefined;
  return { out: lines.join('\n'), exitCode };
}

describe('hailong user', () => {
  test('create stores an argon2id hash, never the password, and audits it as cli', async () => {
    const r = await cli([
      'user',
      'create',
      '--username',
      'CanBo.Thai',
      '--password',
      GOOD_PASSWORD,
      '--role',
      'unit',
      '--unit',
      'QD-DAN-DIEN',
    ]);
    expect(r).toEqual({
      out: 'Đã tạo tài khoản / created: canbo.thai\tunit\tQD-DAN-DIEN',
      exitCode: undefined,
    });
    const u = await User.findOne({ username: 'canbo.thai' }).lean();
    expect(u!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(u)).not.toContain(GOOD_PASSWORD);
    expect(await verifyPassword(u!.passwordHash, GOOD_PASSWORD)).toBe(true);
    expect(
      await AuditLog.countDocuments({
        action: 'user.created',
        actor: 'cli',
        targetId: 'canbo.thai',
        unitCode: 'QD-DAN-DIEN',
      }),
    ).toBe(1);
  });

  test('refuses, with a Vietnamese reason and exit 1, what it cannot accept; nothing is stored', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--password', 'ngắn quá', '--role', 'viewer', '--unit', '19870'],
        /^Mật khẩu phải có ít nhất 12 ký tự/,
      ],
      [['--password', 'qwertyuiop123', '--role', 'viewer', '--unit', '19870'], /^Mật khẩu này quá phổ biến/],
      [['--password', GOOD_PASSWORD, '--role', 'viewer'], /^Vai trò viewer cần ít nhất một đơn vị/],
      [['--password', GOOD_PASSWORD, '--role', 'admin', '--unit', '19870'], /^Quản trị viên thấy mọi đơn vị/],
      [['--password', GOOD_PASSWORD, '--role', 'viewer', '--unit', 'NOPE'], /^Không có đơn vị: NOPE/],
      [['--password', GOOD_PASSWORD, '--role', 'chief', '--unit', '19870'], /^Vai trò không hợp lệ "chief"/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['user', 'create', '--username', 'canbo.tuchoi', ...args]);
      expect(r.exitCode).toBe(1);
      expect(r.out).toMatch(message);
    }
    expect(await User.countDocuments({ username: 'canbo.tuchoi' })).toBe(0);
    const dup = await cli([
      'user',
      'create',
      '--username',
      'canbo.thai',
      '--password',
      GOOD_PASSWORD,
      '--role',
      'viewer',
      '--unit',
      '19870',
    ]);
    expect(dup).toEqual({
      out: 'Tên đăng nhập "canbo.thai" đã có. / The username "canbo.thai" is taken.',
      exitCode: 1,
    });
  });

  test('list shows accounts without secrets; reset-password reads the new one from stdin with --password -', async () => {
    await cli([
      'user',
      'create',
      '--username',
      'canbo.list',
      '--password',
      GOOD_PASSWORD,
      '--role',
      'viewer',
      '--unit',
      '19870',
    ]);
    const list = await cli(['user', 'list']);
    expect(list.out).toMatch(/^canbo\.list\tviewer\t19870\tactive\tnever signed in$/m);
    expect(list.out).not.toContain('argon2');
    const next = 'Chuồn chuồn bay thấp thì mưa';
    expect(await cli(['user', 'reset-password', 'canbo.list', '--password', '-'], next)).toEqual({
      out: 'Đã đặt lại mật khẩu / password reset: canbo.list',
      exitCode: undefined,
    });
    expect((await new ApiClient(t.baseUrl).login('canbo.list', next)).status).toBe(200);
    expect(
      await AuditLog.countDocuments({ action: 'user.password_reset', actor: 'cli', targetId: 'canbo.list' }),
    ).toBe(1);
    expect((await cli(['user', 'disable', 'khong.co'])).exitCode).toBe(1);
  });
});

describe('/api/v1/users', () => {
  test('an admin creates an account (201, audited with the address); a taken username is 409, a weak password 422', async () => {
    const body = {
      username: 'canbo.api',
      password: GOOD_PASSWORD,
      role: 'broadcaster',
      unitCodes: ['QD-DAN-DIEN'],
    };
    const r = await admin.post('/api/v1/users', body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      username: 'canbo.api',
      role: 'broadcaster',
      unitCodes: ['QD-DAN-DIEN'],
      disabled: false,
      createdBy: 'admin.users',
    });
    expect(r.body).not.toHaveProperty('passwordHash');
    expect(
      await AuditLog.countDocuments({
        action: 'user.created',
        actor: 'admin.users',
        targetId: 'canbo.api',
        ip: '127.0.0.1',
      }),
    ).toBe(1);
    expect((await admin.post('/api/v1/users', body)).status).toBe(409);
    const weak = await admin.post('/api/v1/users', {
      ...body,
      username: 'canbo.yeu',
      password: 'password1234',
    });
    expect(weak.status).toBe(422);
    expect(weak.body.details).toEqual([
      { path: 'password', in: 'body', message: expect.stringMatching(/^Mật khẩu này quá phổ biến/) },
    ]);
  });

  test('a new role or units end the account’s sessions; the next sign-in carries them', async () => {
    const user = await signedIn(t, 'canbo.doivaitro', 'viewer', ['19870']);
    const r = await admin.request('PATCH', '/api/v1/users/canbo.doivaitro', {
      body: { role: 'unit', unitCodes: ['QD-DAN-DIEN'] },
    });
    expect(r.status).toBe(200);
    expect((await user.get('/api/v1/auth/me')).status).toBe(401);
    const again = await new ApiClient(t.baseUrl).login('canbo.doivaitro', GOOD_PASSWORD);
    expect(again.body.user).toMatchObject({ role: 'unit', unitCodes: ['QD-DAN-DIEN'] });
    expect(
      await AuditLog.findOne({ action: 'user.updated', targetId: 'canbo.doivaitro' }).lean(),
    ).toMatchObject({
      actor: 'admin.users',
      details: { changed: ['role', 'unitCodes'], role: 'unit', units: ['QD-DAN-DIEN'] },
    });
  });

  test('the last active admin can be neither disabled nor demoted', async () => {
    await User.updateMany(
      { role: 'admin', username: { $ne: 'admin.users' } },
      { $set: { disabledAt: new Date() } },
    );
    const r = await admin.request('PATCH', '/api/v1/users/admin.users', { body: { disabled: true } });
    expect(r.status).toBe(422);
    expect(r.body.details[0]).toMatchObject({
      path: 'disabled',
      message: expect.stringMatching(/^Phải còn ít nhất một quản trị viên/),
    });
    expect(
      (
        await admin.request('PATCH', '/api/v1/users/admin.users', {
          body: { role: 'viewer', unitCodes: ['19870'] },
        })
      ).status,
    ).toBe(422);
    expect((await admin.get('/api/v1/auth/me')).status).toBe(200);
  });
});

describe('scope over the effective-dated unit tree', () => {
  test('a merged commune’s user sees the communes it absorbed and nothing of its neighbours', async () => {
    const c = await signedIn(t, 'canbo.dandien', 'unit', ['QD-DAN-DIEN']);
    const list = await c.get('/api/v1/units');
    expect(unitCodes(list)).toEqual(['19870', '19876', '19885', '19897', 'QD-DAN-DIEN']);
    const one = await c.get('/api/v1/units/QD-DAN-DIEN');
    expect(one.body).toMatchObject({
      code: 'QD-DAN-DIEN',
      parentCode: '46',
      mergedFrom: ['19870', '19876', '19885', '19897'],
      children: [],
    });
    expect((await c.get('/api/v1/units/19870')).body).toMatchObject({
      validTo: '2025-06-30T16:59:59.000Z',
      successorCode: 'QD-DAN-DIEN',
    });
    for (const neighbour of ['19867', 'QD-QUANG-DIEN', '477', '46'])
      expect((await c.get(`/api/v1/units/${neighbour}`)).status).toBe(404);
    const before = await c.get('/api/v1/units', { at: '2025-06-30' });
    expect(unitCodes(before)).toEqual(['19870', '19876', '19885', '19897']);
    const after = await c.get('/api/v1/units', { at: '2025-07-01' });
    expect(unitCodes(after)).toEqual(['QD-DAN-DIEN']);
  });

  test('the old district’s user sees its communes’ history, not the units that took them over', async () => {
    const c = await signedIn(t, 'phong.noivu', 'district', ['477']);
    const codes = unitCodes(await c.get('/api/v1/units'));
    expect(codes).toHaveLength(12);
    expect(codes).toContain('477');
    expect(codes.some((x) => x.startsWith('QD-'))).toBe(false);
    expect((await c.get('/api/v1/units/477')).body.children).toHaveLength(11);
  });
});

describe('/api/v1/api-keys and /api/v1/audit', () => {
  test('a key created through the API is shown once, works for its units only, and stops when revoked; all audited', async () => {
    const created = await admin.post('/api/v1/api-keys', {
      name: 'Một cửa Đan Điền',
      unitCodes: ['QD-DAN-DIEN'],
    });
    expect(created.status).toBe(201);
    const { key, keyId } = created.body as { key: string; keyId: string };
    expect(key).toMatch(new RegExp(`^hl_${keyId}_`));
    const list = await admin.get('/api/v1/api-keys');
    expect(list.text).toContain(keyId);
    expect(list.text).not.toContain(key);
    const machine = new ApiClient(t.baseUrl, key);
    expect((await machine.get('/api/v1/units/19876')).status).toBe(200);
    expect((await machine.get('/api/v1/units/19867')).status).toBe(404);
    expect((await admin.request('DELETE', `/api/v1/api-keys/${keyId}`)).status).toBe(204);
    expect((await machine.get('/api/v1/units/19876')).status).toBe(401);
    expect((await admin.request('DELETE', `/api/v1/api-keys/${keyId}`)).status).toBe(404);
    const audit = await admin.get('/api/v1/audit', { targetId: keyId });
    expect((audit.body.entries as Entry[]).map((e) => [e.action, e.actor])).toEqual([
      ['apikey.revoked', 'admin.users'],
      ['apikey.created', 'admin.users'],
    ]);
  });

  test('the audit log pages by cursor, filters, exports as CSV (itself audited) and verifies', async () => {
    await admin.post('/api/v1/users', {
      username: 'canbo.audit',
      password: GOOD_PASSWORD,
      role: 'viewer',
      unitCodes: ['19870'],
    });
    for (let i = 0; i < 3; i++) await admin.get('/api/v1/audit/export', { action: 'none.such' });
    const page1 = await admin.get('/api/v1/audit', { limit: '2' });
    expect(page1.body.entries).toHaveLength(2);
    expect(Number(page1.body.entries[0].seq)).toBeGreaterThan(Number(page1.body.entries[1].seq));
    const page2 = await admin.get('/api/v1/audit', { limit: '2', before: String(page1.body.nextCursor) });
    expect(page2.body.entries[0].seq).toBe(page1.body.entries[1].seq - 1);
    const logins = await admin.get('/api/v1/audit', { action: 'auth.login', actor: 'admin.users' });
    expect(logins.body.entries.length).toBeGreaterThan(0);
    expect((logins.body.entries as Entry[]).every((e) => e.action === 'auth.login')).toBe(true);
    const bad = await admin.get('/api/v1/audit', { from: '2026-02-01', to: '2026-01-01' });
    expect(bad.status).toBe(422);
    expect(bad.body.details).toEqual([
      { path: 'from', in: 'query', message: 'Ngày bắt đầu sau ngày kết thúc / from is after to' },
    ]);

    const csv = await admin.get('/api/v1/audit/export', { action: 'user.created' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="audit-log.csv"');
    expect(
      csv.text.startsWith(
        '\ufeffseq,at,actor,action,targetType,targetId,unitCode,reason,ip,details,prevHash,hash\r\n',
      ),
    ).toBe(true);
    expect(csv.text).toMatch(/,admin\.users,user\.created,user,canbo\.audit,19870,,127\.0\.0\.1,/);
    expect(await AuditLog.countDocuments({ action: 'audit.exported', actor: 'admin.users' })).toBe(4);
    const verify = await admin.get('/api/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, firstBreak: null });
    expect(verify.body.checked).toBe(await AuditLog.countDocuments({}));
  });
});
