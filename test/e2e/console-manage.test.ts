import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { publishPlatformSuccess } from '../../lib/platform-health';
import { Response } from '../../models/response';
import { FakeZaloServer } from '../fakes/zalo-server';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import type { TestApp } from '../support/app';
import { a11yViolations, openPage, shot, signIn, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';
import { makeFlag } from '../support/survey-fixtures';
import { connectedZaloClient } from '../support/zalo';

/**
 * Quản trị in a real browser against the whole process (issue 19, page 7): an admin manages an
 * account (create, reset its password, disable it: it can no longer sign in), an API key (shown
 * once, revoked: the API then refuses it), reads and checks the audit log, excludes a flagged
 * response with a reason and sees the Zalo connection; a commune's official sees only its
 * flagged responses, and the other parts answer as the API does.
 */
const SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');
const NEW_PASSWORD = 'Đồng lúa Quảng Điền mùa gặt 2026';
let c: ConsoleTest;
let t: TestApp;
let browser: Browser;
let zaloFake: FakeZaloServer;
let limiter: ZaloRateLimiter;
let flagged: string;
let oldFlag: string;

beforeAll(async () => {
  zaloFake = await new FakeZaloServer().start();
  c = await startConsoleTest('consolemanage', {
    env: {
      SECRETS_KEY,
      ZALO_APP_ID: zaloFake.appId,
      ZALO_APP_SECRET: zaloFake.appSecret,
      ZALO_OA_SECRET_KEY: zaloFake.oaSecretKey,
      ZALO_API_ROOT: zaloFake.url,
      ZALO_OAUTH_ROOT: zaloFake.url,
      ZALO_BUSINESS_API_ROOT: zaloFake.url,
    },
    users: { 'qt.admin': ['admin', []], 'xa.dandien': ['unit', ['QD-DAN-DIEN']] },
  });
  ({ t, browser } = c);
  // The token pair `hailong zalo connect` leaves, and a send to Zalo 90 s ago by some process.
  ({ limiter } = await connectedZaloClient(zaloFake, t.redis, t.app.ctx.prefix, { secretsKey: SECRETS_KEY }));
  await publishPlatformSuccess(t.redis, t.app.ctx.prefix, new Map([['zalo', Date.now() - 90_000]]));
  flagged = await makeFlag('19870');
  oldFlag = await makeFlag('19870', '5 identical within 10 min');
}, 180_000);

afterAll(async () => {
  await limiter?.close();
  await c?.stop();
  await zaloFake?.close();
}, 60_000);

async function checked(page: Page, name: string): Promise<void> {
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, name);
}

test('an admin creates a unit account, resets its password and disables it; it can no longer sign in', async () => {
  const { context, page, watch } = await openPage(browser, 'desktop');
  await signIn(page, t.baseUrl, 'qt.admin', GOOD_PASSWORD, '/admin/manage');
  await page.getByRole('link', { name: 'Tài khoản' }).first().click();
  await page.getByRole('heading', { name: 'Tạo tài khoản' }).waitFor();

  // A password the policy refuses: the API's reason under the field, nothing created.
  await page.getByLabel('Tên đăng nhập', { exact: true }).fill('canbo.moi');
  await page.getByLabel('Mật khẩu ban đầu').fill('ngan');
  await page.getByLabel('Vai trò').selectOption('unit');
  await page.getByLabel('Mã đơn vị').fill('QD-DAN-DIEN');
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await page.locator('#create-password-error').waitFor();
  expect(await page.getByLabel('Mật khẩu ban đầu').getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByLabel('Tên đăng nhập', { exact: true }).inputValue()).toBe('canbo.moi');
  await checked(page, 'quan-tri-tai-khoan-loi-desktop');

  await page.getByLabel('Mật khẩu ban đầu').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã tạo tài khoản.' }).waitFor();
  expect(await page.getByTestId('user-role').textContent()).toBe('cấp xã/đơn vị');
  expect(await page.getByTestId('user-units').textContent()).toBe('Xã Đan Điền (QD-DAN-DIEN)');

  await page.getByLabel('Mật khẩu mới').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Đặt lại mật khẩu' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã đặt lại mật khẩu.' }).waitFor();
  const official = new ApiClient(t.baseUrl);
  expect((await official.login('canbo.moi', GOOD_PASSWORD)).status).toBe(401);
  expect((await official.login('canbo.moi', NEW_PASSWORD)).status).toBe(200);

  // Disabling asks for a confirmation; the browser will not send the form without it.
  await page.getByRole('button', { name: 'Khoá tài khoản' }).click();
  expect(await page.getByTestId('user-status').textContent()).toBe('Đang hoạt động');
  await page.getByLabel('Tôi xác nhận thực hiện thao tác này').check();
  await page.getByRole('button', { name: 'Khoá tài khoản' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã khoá tài khoản.' }).waitFor();
  expect(await page.getByTestId('user-status').textContent()).toBe('Đã khoá');
  await checked(page, 'quan-tri-tai-khoan-da-khoa-desktop');
  expect(watch.errors).toEqual([]);
  await context.close();

  // Its open session ended, and signing in is refused, by the API and on the sign-in page.
  expect((await official.get('/api/v1/auth/me')).status).toBe(401);
  expect((await new ApiClient(t.baseUrl).login('canbo.moi', NEW_PASSWORD)).status).toBe(403);
  const other = await openPage(browser, 'desktop');
  await other.page.goto(`${t.baseUrl}/admin/login`);
  await other.page.getByLabel('Tên đăng nhập').fill('canbo.moi');
  await other.page.getByLabel('Mật khẩu').fill(NEW_PASSWORD);
  await other.page.getByRole('button', { name: 'Đăng nhập' }).click();
  await other.page.getByRole('alert').waitFor();
  expect(new URL(other.page.url()).pathname).toBe('/admin/login');
  await other.context.close();
});

test('an admin creates an API key, shown once, and revokes it: the API then refuses it', async () => {
  const { context, page, watch } = await openPage(browser, 'desktop');
  await signIn(page, t.baseUrl, 'qt.admin', GOOD_PASSWORD, '/admin/manage/keys');
  await page.getByLabel('Tên khoá (hệ thống sử dụng)').fill('Một cửa Đan Điền');
  await page.getByLabel('Giới hạn theo mã đơn vị').fill('QD-KHONG-CO');
  await page.getByRole('button', { name: 'Tạo khoá' }).click();
  await page.locator('#key-unitCodes-error').waitFor();
  await page.getByLabel('Giới hạn theo mã đơn vị').fill('QD-DAN-DIEN');
  await page.getByRole('button', { name: 'Tạo khoá' }).click();
  const shown = page.getByTestId('new-key');
  await shown.waitFor();
  await expect(shown.textContent()).resolves.toContain('chỉ hiển thị một lần');
  const key = await page.locator('#new-key').inputValue();
  expect(key).toMatch(/^hl_[a-f0-9]{12}_/);
  await checked(page, 'quan-tri-khoa-api-moi-desktop');

  const machine = new ApiClient(t.baseUrl, key);
  expect((await machine.get('/api/v1/units')).status).toBe(200);
  // Shown once: the list page never has it again.
  await page.goto(`${t.baseUrl}/admin/manage/keys`);
  expect(await page.content()).not.toContain(key);
  const keyId = key.split('_')[1]!;
  const row = page.locator(`tr[data-key="${keyId}"]`);
  await row.getByLabel('Tôi xác nhận thực hiện thao tác này').check();
  await row.getByRole('button', { name: 'Thu hồi' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã thu hồi khoá.' }).waitFor();
  await expect(page.locator(`tr[data-key="${keyId}"]`).textContent()).resolves.toContain('Đã thu hồi');
  expect((await machine.get('/api/v1/units')).status).toBe(401);
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('the audit log: filtered, exported as CSV, and its chain verified', async () => {
  const { context, page, watch } = await openPage(browser, 'desktop');
  await signIn(page, t.baseUrl, 'qt.admin', GOOD_PASSWORD, '/admin/manage/audit');
  await page.getByLabel('Người thực hiện').fill('qt.admin');
  await page.getByLabel('Mã đối tượng').fill('canbo.moi');
  await page.getByRole('button', { name: 'Xem' }).click();
  await page.waitForURL((u) => u.searchParams.get('targetId') === 'canbo.moi');
  const actions = await page.getByTestId('audit').locator('tbody tr td:nth-child(4)').allTextContents();
  expect(actions).toEqual(['user.disabled', 'user.password_reset', 'user.created']);

  await page.getByLabel('Thao tác (ví dụ user.created)').fill('apikey.revoked');
  await page.getByLabel('Mã đối tượng').fill('');
  await page.getByRole('button', { name: 'Xem' }).click();
  await page.waitForURL((u) => u.searchParams.get('action') === 'apikey.revoked');
  expect(await page.getByTestId('audit').locator('tbody tr').count()).toBe(1);

  // Days are typed dd/mm/yyyy whatever the browser's locale: today's, read by the server.
  const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh' }).format(new Date());
  await page.getByLabel('Từ ngày').fill(today);
  await page.getByRole('button', { name: 'Xem' }).click();
  await page.waitForURL((u) => u.searchParams.get('from') === today);
  expect(await page.getByTestId('audit').locator('tbody tr').count()).toBe(1);
  expect(await page.getByLabel('Từ ngày').inputValue()).toBe(today);
  // Not a day: a clear error under the field, the text kept, no entries shown.
  await page.getByLabel('Từ ngày').fill('31/02/2026');
  await page.getByRole('button', { name: 'Xem' }).click();
  await expect(page.locator('#a-from-error').textContent()).resolves.toBe(
    'Ngày không hợp lệ. Xin nhập theo dạng ngày/tháng/năm, ví dụ 31/12/2026.',
  );
  expect(await page.getByLabel('Từ ngày').getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByLabel('Từ ngày').inputValue()).toBe('31/02/2026');
  expect(await page.getByTestId('audit').locator('tbody tr').count()).toBe(0);
  // Nothing was listed, so neither "no entries" nor an entries heading over nothing.
  expect(await page.getByText('Không có mục nhật ký nào').count()).toBe(0);
  expect(await page.getByRole('heading', { name: 'Các mục nhật ký, mới nhất trước' }).count()).toBe(0);
  await checked(page, 'quan-tri-nhat-ky-ngay-sai-desktop');
  // A backwards range: the API's 422 under the date it concerns.
  await page.getByLabel('Từ ngày').fill('31/12/2026');
  await page.getByLabel('Đến ngày').fill('01/01/2026');
  await page.getByRole('button', { name: 'Xem' }).click();
  await page.locator('#a-from-error').filter({ hasNotText: 'Ngày không hợp lệ' }).waitFor();
  await page.getByLabel('Từ ngày').fill('');
  await page.getByLabel('Đến ngày').fill('');
  await page.getByLabel('Thao tác (ví dụ user.created)').fill('');
  await page.getByRole('button', { name: 'Xem' }).click();
  await page.getByTestId('audit').waitFor();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Xuất CSV (theo bộ lọc)' }).click(),
  ]);
  const csv = readFileSync((await download.path())!, 'utf8');
  expect(csv).toContain('user.password_reset');
  expect(csv).not.toContain('xa.dandien'); // its account was made by another actor: filtered out

  await page.getByRole('link', { name: 'Kiểm tra ngay' }).click();
  const result = page.getByTestId('verify-result');
  await result.waitFor();
  // One sentence, one full stop: no ellipsis before it ("…." once ended the hash).
  await expect(result.textContent()).resolves.toMatch(
    /^Chuỗi băm nguyên vẹn: đã kiểm tra \d+ mục\. Mục mới nhất: số \d+, mã băm bắt đầu bằng [0-9a-f]{16}\.$/,
  );
  await checked(page, 'quan-tri-nhat-ky-kiem-tra-desktop');
  await page.goto(`${t.baseUrl}/admin/lang/en?next=${encodeURIComponent('/admin/manage/audit?verify=1')}`);
  await expect(page.getByTestId('verify-result').textContent()).resolves.toMatch(
    /^The chain is intact: \d+ entries checked\. Newest: no\. \d+, its hash begins [0-9a-f]{16}\.$/,
  );
  await page.goto(`${t.baseUrl}/admin/lang/vi?next=${encodeURIComponent('/admin/manage')}`);
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('an admin excludes a flagged response with a reason; a short reason is refused next to the field', async () => {
  const { context, page, watch } = await openPage(browser, 'desktop');
  await signIn(page, t.baseUrl, 'qt.admin', GOOD_PASSWORD, '/admin/manage/flags');
  await page.getByLabel('Đơn vị').selectOption('19870');
  await page.getByRole('button', { name: 'Xem' }).click();
  const row = page.locator(`tr[data-flag="${flagged}"]`);
  await row.waitFor();
  await expect(row.textContent()).resolves.toContain('Nhiều phiếu giống hệt nhau');
  // The counts in Vietnamese; a flag stored before the counts were kept apart, as stored.
  expect(await row.getByTestId('flag-detail').textContent()).toBe('5 phiếu giống hệt nhau trong 10 phút');
  expect(await page.locator(`tr[data-flag="${oldFlag}"]`).getByTestId('flag-detail').textContent()).toBe(
    '5 identical within 10 min',
  );
  await expect(row.textContent()).resolves.toContain('Xã Quảng Thái (19870)');
  const reason = row.getByLabel('Lý do loại phiếu (ít nhất 5 ký tự, ghi vào nhật ký kiểm toán)');
  await reason.fill('abc');
  await row.getByLabel('Tôi xác nhận thực hiện thao tác này').check();
  await row.getByRole('button', { name: 'Loại khỏi chỉ số' }).click();
  await page.locator(`[id="exclude-${flagged}-reason-error"]`).waitFor();
  expect(await Response.countDocuments({ responseId: flagged, 'excluded.at': { $ne: null } })).toBe(0);
  await checked(page, 'quan-tri-phieu-nghi-van-loi-desktop');

  await reason.fill('Cán bộ tự điền thay công dân');
  await row.getByLabel('Tôi xác nhận thực hiện thao tác này').check();
  await row.getByRole('button', { name: 'Loại khỏi chỉ số' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Đã loại phiếu ${flagged}` })
    .waitFor();
  await expect(page.locator(`tr[data-flag="${flagged}"]`).textContent()).resolves.toContain(
    'Đã loại khỏi chỉ số',
  );
  const stored = await Response.findOne({ responseId: flagged }).lean();
  expect(stored?.excluded).toMatchObject({ by: 'qt.admin', reason: 'Cán bộ tự điền thay công dân' });
  expect(watch.errors).toEqual([]);
  await context.close();
});

// One test per width: both in one ran past the 300 s limit on a loaded machine.
test.each(Object.keys(WIDTHS) as Width[])(
  'every part passes the accessibility check at the %s width; the Zalo state and the queue dashboard',
  async (width) => {
    await publishPlatformSuccess(t.redis, t.app.ctx.prefix, new Map([['zalo', Date.now() - 90_000]]));
    {
      const { context, page, watch } = await openPage(browser, width);
      await signIn(page, t.baseUrl, 'qt.admin', GOOD_PASSWORD, '/admin/manage');
      await checked(page, `quan-tri-${width}`);
      for (const [path, name] of [
        ['users', 'tai-khoan'],
        ['keys', 'khoa-api'],
        ['audit', 'nhat-ky'],
        ['flags?unit=19870', 'phieu-nghi-van'],
        ['system', 'ket-noi'],
      ] as const) {
        await page.goto(`${t.baseUrl}/admin/manage/${path}`);
        await page.locator('nav.subnav a[aria-current="page"]').waitFor();
        await checked(page, `quan-tri-${name}-${width}`);
      }
      expect(await page.getByTestId('zalo-state').textContent()).toBe('Đã kết nối.');
      await expect(page.getByTestId('zalo-expiry').textContent()).resolves.toMatch(/\(còn \d+ (ngày|giờ)/);
      await expect(page.getByTestId('zalo-last').textContent()).resolves.toMatch(/\(cách đây [1-4] phút\)/);
      const queues = page.getByRole('link', { name: 'Mở bảng theo dõi hàng đợi' });
      expect(await queues.getAttribute('href')).toBe('/admin/queues');
      expect((await page.request.get(`${t.baseUrl}/admin/queues`)).status()).toBe(200);
      expect(watch.errors).toEqual([]);
      if (width === 'desktop') {
        // The dashboard the link opens (bull-board's own page), for the user guide.
        await queues.click();
        // It renders (its own scripts under its own policy) and lists the queues.
        await page.getByText('Hài Lòng: hàng đợi').first().waitFor();
        await page.getByText('ingest', { exact: true }).first().waitFor();
        await page.waitForLoadState('networkidle');
        await shot(page, 'quan-tri-hang-doi-desktop');
      }
      await context.close();
    }
  },
);

test('a commune official sees only the flagged responses, read-only; the other parts answer as the API does', async () => {
  const api = new ApiClient(t.baseUrl);
  expect((await api.login('xa.dandien', GOOD_PASSWORD)).status).toBe(200);
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await openPage(browser, width);
    await signIn(page, t.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin/manage');
    const parts = await page.locator('main .card h2').allTextContents();
    expect(parts).toEqual(['Phiếu nghi vấn']);
    await checked(page, `quan-tri-xa-${width}`);
    await page.getByRole('link', { name: 'Phiếu nghi vấn' }).first().click();
    await page.locator(`tr[data-flag="${flagged}"]`).waitFor();
    expect(await page.getByRole('button', { name: 'Loại khỏi chỉ số' }).count()).toBe(0);
    await expect(page.locator('main').textContent()).resolves.toContain(
      'Cấp xã/đơn vị chỉ xem phiếu nghi vấn',
    );
    await checked(page, `quan-tri-xa-phieu-nghi-van-${width}`);
    for (const [path, apiPath] of [
      ['users', '/api/v1/users'],
      ['keys', '/api/v1/api-keys'],
      ['audit', '/api/v1/audit'],
      ['system', '/api/v1/platforms'],
    ] as const) {
      const res = await page.goto(`${t.baseUrl}/admin/manage/${path}`);
      const direct = await api.get(apiPath);
      expect([path, res!.status()]).toEqual([path, direct.status]);
      expect(direct.status).toBe(403);
      await page.getByRole('alert').waitFor();
    }
    await checked(page, `quan-tri-xa-tu-choi-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
  // Another commune's flags by address: 404, as the API.
  const page = (await openPage(browser, 'desktop')).page;
  await signIn(page, t.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin/manage');
  const res = await page.goto(`${t.baseUrl}/admin/manage/flags?unit=19867`);
  expect(res!.status()).toBe(404);
  expect(
    (await api.get('/api/v1/flags', { unit: '19867', from: '2026-01-01', to: '2026-12-31' })).status,
  ).toBe(404);
  await page.context().close();
});
