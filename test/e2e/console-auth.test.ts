import { SessionStore } from '../../lib/auth/sessions';
import { GOOD_PASSWORD } from '../support/api';
import { a11yViolations, shot, signIn, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';

/**
 * The console's sign-in, sign-out and password pages in a real browser against the whole
 * process (issue 19, page 1): an ended session says so and comes back to the page it was on;
 * forms refuse cross-site posts; the pages pass axe at a phone and a desktop width.
 */
let c: ConsoleTest;

beforeAll(async () => {
  c = await startConsoleTest('consoleauth', {
    users: { 'huyen.qd': ['district', ['477']], 'doi.matkhau': ['viewer', ['477']] },
  });
}, 180_000);

afterAll(() => c?.stop(), 60_000);

test('the sign-in page passes the accessibility check at both widths and sends the console headers', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.page(width);
    const res = await page.goto(`${c.baseUrl}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    const h = res!.headers();
    expect(h['content-security-policy']).toContain("script-src 'self'");
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['referrer-policy']).toBe('same-origin');
    await page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `dang-nhap-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('a wrong password is refused with the API’s message, and the right one opens the overview', async () => {
  const { context, page, watch } = await c.page();
  await page.goto(`${c.baseUrl}/admin/login`);
  await page.getByLabel('Tên đăng nhập').fill('huyen.qd');
  await page.getByLabel('Mật khẩu').fill('sai mật khẩu rồi');
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByRole('alert').waitFor();
  expect(await page.getByRole('alert').textContent()).toMatch(/không đúng/i);
  expect(new URL(page.url()).pathname).toBe('/admin/login');
  await shot(page, 'dang-nhap-sai');

  await page.getByLabel('Mật khẩu').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.waitForURL(`${c.baseUrl}/admin`);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Tổng quan');
  expect(await page.getByRole('navigation', { name: 'Điều hướng chính' }).textContent()).toContain(
    'Phản ánh',
  );

  await page.getByRole('button', { name: 'Đăng xuất' }).click();
  await page.waitForURL(/\/admin\/login\?signedout=1/);
  expect(await page.getByRole('status').textContent()).toContain('đã đăng xuất');
  // Signed out means signed out: the overview asks for a sign-in again.
  await page.goto(`${c.baseUrl}/admin`);
  expect(new URL(page.url()).pathname).toBe('/admin/login');
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('an ended session says so and, after signing in, returns to the page the person was on', async () => {
  const { context, page } = await c.page();
  await signIn(page, c.baseUrl, 'huyen.qd');
  const where = `${c.baseUrl}/admin?unit=19870&period=2025`;
  await page.goto(where);
  const cookie = (await context.cookies()).find((c) => c.name.endsWith('hl_session'))!;
  await new SessionStore(c.t.app.ctx.redis, c.t.app.ctx.prefix, { idleMs: 60_000, maxMs: 60_000 }).destroy(
    cookie.value,
  );

  await page.reload();
  expect(new URL(page.url()).pathname).toBe('/admin/login');
  expect(await page.getByRole('status').textContent()).toContain('Phiên làm việc đã hết hạn');
  await shot(page, 'phien-het-han');
  await page.getByLabel('Tên đăng nhập').fill('huyen.qd');
  await page.getByLabel('Mật khẩu').fill(GOOD_PASSWORD);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.waitForURL(where);
  expect(await page.getByTestId('unit-name').textContent()).toContain('Xã Quảng Thái');
  await context.close();
});

test('changing the password: errors next to their field, then done; the old password no longer signs in', async () => {
  const { context, page } = await c.page('phone');
  await signIn(page, c.baseUrl, 'doi.matkhau');
  await page.goto(`${c.baseUrl}/admin/password`);
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'doi-mat-khau-phone');
  const fresh = 'Chiều tím sông Hương 2/9/1945';

  await page.getByLabel('Mật khẩu hiện tại').fill('không phải mật khẩu');
  await page.getByLabel('Mật khẩu mới', { exact: true }).fill(fresh);
  await page.getByLabel('Nhập lại mật khẩu mới').fill(fresh);
  await page.getByRole('button', { name: 'Đổi mật khẩu' }).click();
  await page.locator('#currentPassword-error').waitFor();
  expect(await page.locator('#currentPassword-error').textContent()).toContain('không đúng');
  expect(await page.getByLabel('Mật khẩu hiện tại').getAttribute('aria-invalid')).toBe('true');
  expect(await a11yViolations(page)).toEqual([]);

  await page.getByLabel('Mật khẩu hiện tại').fill(GOOD_PASSWORD);
  await page.getByLabel('Mật khẩu mới', { exact: true }).fill(fresh);
  await page.getByLabel('Nhập lại mật khẩu mới').fill(`${fresh}!`);
  await page.getByRole('button', { name: 'Đổi mật khẩu' }).click();
  await page.locator('#confirmPassword-error').waitFor();

  await page.getByLabel('Mật khẩu hiện tại').fill(GOOD_PASSWORD);
  await page.getByLabel('Mật khẩu mới', { exact: true }).fill(fresh);
  await page.getByLabel('Nhập lại mật khẩu mới').fill(fresh);
  await page.getByRole('button', { name: 'Đổi mật khẩu' }).click();
  await page.getByText('Đã đổi mật khẩu.').waitFor();
  // The new session cookie came through: the person is still signed in.
  await page.goto(`${c.baseUrl}/admin`);
  expect(new URL(page.url()).pathname).toBe('/admin');
  await context.close();

  const again = await c.page();
  await again.page.goto(`${c.baseUrl}/admin/login`);
  await again.page.getByLabel('Tên đăng nhập').fill('doi.matkhau');
  await again.page.getByLabel('Mật khẩu').fill(GOOD_PASSWORD);
  await again.page.getByRole('button', { name: 'Đăng nhập' }).click();
  await again.page.getByRole('alert').waitFor();
  await signIn(again.page, c.baseUrl, 'doi.matkhau', fresh);
  expect(new URL(again.page.url()).pathname).toBe('/admin');
  await again.context.close();
});

test('a form posted from another site, or without the session’s token, changes nothing', async () => {
  const { context, page } = await c.page();
  await signIn(page, c.baseUrl, 'huyen.qd');
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${c.baseUrl}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const token = await page.locator('input[name=_csrf]').first().inputValue();
  expect((await post({ origin: 'https://evil.example' }, `_csrf=${token}`)).status).toBe(403);
  expect((await post({ 'sec-fetch-site': 'cross-site' }, `_csrf=${token}`)).status).toBe(403);
  expect((await post({ origin: c.baseUrl }, '_csrf=wrong')).status).toBe(403);
  // Still signed in after the three refusals.
  await page.goto(`${c.baseUrl}/admin`);
  expect(new URL(page.url()).pathname).toBe('/admin');
  // A next= of another site is not followed.
  await page.goto(`${c.baseUrl}/admin/lang/en?next=//evil.example/x`);
  expect(page.url()).toBe(`${c.baseUrl}/admin`);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
  await page.goto(`${c.baseUrl}/admin/lang/vi?next=/admin`);
  await context.close();
});
