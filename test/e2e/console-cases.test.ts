import type { Page } from 'playwright-core';
import { AuditLog } from '../../models/audit-log';
import { openCase } from '../../workers/aggregation/cases/open-case';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { a11yViolations, shot, signIn, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';
import { makeResponse } from '../support/survey-fixtures';

/**
 * Phản ánh in a real browser against the whole process (issue 19, page 4): a dissatisfied
 * response opens a case; a commune official finds it in the inbox, assigns it, notes it and
 * closes it with a resolution, and the API agrees; another commune sees none of it.
 */
let c: ConsoleTest;
let ours: string;
let late: string;
let theirs: string;

/** The case ids of the inbox's rows, top to bottom. */
async function inboxIds(page: Page): Promise<Array<string | null>> {
  const rows = page.getByTestId('cases').locator('tbody tr');
  const ids: Array<string | null> = [];
  for (let i = 0; i < (await rows.count()); i++) ids.push(await rows.nth(i).getAttribute('data-case'));
  return ids;
}

/** A stored dissatisfied response of the unit, and the case the aggregation opens for it. */
async function dissatisfiedCase(unitCode: string, dueInHours: number): Promise<string> {
  const r = await makeResponse(unitCode, { score: 1 });
  const completedAt = new Date(Date.now() - (72 - dueInHours) * 3_600_000).toISOString();
  const opened = await openCase(
    {
      responseId: r.responseId,
      meta: { dossierCode: r.dossierCode, unitCode, procedureCode: '1.001234', officerId: 'cb-01' },
      answers: [{ questionId: 'q_tong_the', element: 'TONG_THE', value: 1 }],
      completedAt,
    },
    { slaHours: 72 },
  );
  if (!opened) throw new Error('a dissatisfied response opened no case');
  return opened.caseId;
}

beforeAll(async () => {
  c = await startConsoleTest('consolecases', {
    users: { 'xa.dandien': ['unit', ['QD-DAN-DIEN']], 'xa.quangdien': ['unit', ['QD-QUANG-DIEN']] },
  });
  ours = await dissatisfiedCase('QD-DAN-DIEN', 48);
  late = await dissatisfiedCase('QD-DAN-DIEN', -2);
  theirs = await dissatisfiedCase('QD-QUANG-DIEN', 24);
}, 180_000);

afterAll(() => c?.stop(), 60_000);

test('the inbox lists the commune’s cases by due time, overdue first and marked, and not another commune’s', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.page(width);
    await signIn(page, c.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin/cases');
    await page.getByRole('heading', { name: 'Phản ánh', level: 1 }).waitFor();
    const rows = page.getByTestId('cases').locator('tbody tr');
    expect(await inboxIds(page)).toEqual([late, ours]);
    expect(await rows.first().getAttribute('class')).toBe('overdue');
    await expect(rows.first().textContent()).resolves.toContain('Quá hạn');
    // The unit by its name, with its code.
    await expect(rows.first().textContent()).resolves.toContain('Xã Đan Điền (QD-DAN-DIEN)');
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `phan-anh-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('an official assigns, notes and closes a case with a resolution; the API confirms it', async () => {
  const { context, page, watch } = await c.page('desktop');
  await signIn(page, c.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin/cases');
  await page.getByRole('link', { name: ours }).click();
  await page.getByRole('heading', { name: `Phiếu phản ánh ${ours}` }).waitFor();
  // The response's answers; its free text only on demand, and that read is audited.
  const answers = page.getByTestId('response-answers');
  await expect(answers.textContent()).resolves.toContain('Có ý kiến (ẩn)');
  expect(await page.content()).not.toContain('Góp ý riêng của QD-DAN-DIEN');
  const reads = () => AuditLog.countDocuments({ action: 'responses.free_text_read', actor: 'xa.dandien' });
  const before = await reads();
  await page.getByRole('link', { name: 'Hiện ý kiến tự do (được ghi nhật ký)' }).click();
  await page.waitForURL(/text=1/);
  await expect(answers.textContent()).resolves.toContain('Góp ý riêng của QD-DAN-DIEN');
  expect(await reads()).toBe(before + 1);
  await page.getByRole('link', { name: 'Ẩn ý kiến tự do' }).click();
  await page.waitForURL((u) => !u.search.includes('text=1'));
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'phan-anh-phieu-desktop');

  await page.getByLabel('Tên đăng nhập của cán bộ xử lý').fill('xa.quangdien');
  await page.getByRole('button', { name: 'Giao', exact: true }).click();
  await page.locator('#assign-username-error').waitFor();
  expect(await page.getByLabel('Tên đăng nhập của cán bộ xử lý').getAttribute('aria-invalid')).toBe('true');
  await page.getByLabel('Tên đăng nhập của cán bộ xử lý').fill('xa.dandien');
  await page.getByRole('button', { name: 'Giao', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Đã giao phiếu.' }).waitFor();
  expect(await page.getByTestId('assigned-to').textContent()).toBe('xa.dandien');

  await page.getByLabel('Nội dung ghi chú (chỉ đơn vị xem được)').fill('Đã gọi lại cho công dân');
  await page.getByRole('button', { name: 'Thêm ghi chú' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã thêm ghi chú.' }).waitFor();
  await expect(page.getByTestId('case-log').textContent()).resolves.toContain('Đã gọi lại cho công dân');

  await page.getByLabel('Kết quả xử lý', { exact: true }).selectOption('khac-phuc');
  await page.getByLabel('Gửi tin nhắn báo kết quả cho công dân').uncheck();
  await page.getByRole('button', { name: 'Đóng phiếu' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã đóng phiếu.' }).waitFor();
  expect(await page.getByTestId('case-status').textContent()).toBe('Đã đóng');
  expect(await page.getByTestId('resolution').textContent()).toBe('Đã khắc phục');
  // The log and the ratings in words: the resolution's label once, the element's name, no codes.
  const closing = page.getByTestId('case-log').locator('tbody tr').last().locator('td');
  expect(await closing.allTextContents()).toEqual([
    expect.any(String),
    'xa.dandien',
    'Đóng phiếu',
    'Đã khắc phục',
  ]);
  expect(await page.getByTestId('answers').locator('tbody th').allTextContents()).toEqual([
    'Hài lòng tổng thể',
  ]);
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'phan-anh-da-dong-desktop');
  expect(watch.errors).toEqual([]);
  await context.close();

  const api = new ApiClient(c.baseUrl);
  expect((await api.login('xa.dandien', GOOD_PASSWORD)).status).toBe(200);
  const r = await api.get(`/api/v1/cases/${ours}`);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ status: 'closed', assignedTo: 'xa.dandien', resolution: 'khac-phuc' });
  expect((r.body.log as Array<{ action: string; note: string | null }>).map((l) => l.action)).toEqual([
    'opened',
    'assigned',
    'note',
    'closed',
  ]);
});

test('a cursor the API refuses: its reason in both languages, not "no case" as if the inbox were read', async () => {
  const { context, page, watch } = await c.page('desktop');
  await signIn(page, c.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin/cases');
  const res = await page.goto(`${c.baseUrl}/admin/cases?cursor=khong-phai`);
  expect(res!.status()).toBe(422);
  expect(await page.getByText('Dữ liệu không hợp lệ. / Invalid request.', { exact: true }).count()).toBe(1);
  expect(await page.getByText('Không có phiếu phản ánh nào').count()).toBe(0);
  expect(await page.getByTestId('cases').count()).toBe(0);
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('a commune official sees no other commune’s case, in the inbox or by its address', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.page(width);
    await signIn(page, c.baseUrl, 'xa.quangdien', GOOD_PASSWORD, '/admin/cases');
    expect(await inboxIds(page)).toEqual([theirs]);
    const res = await page.goto(`${c.baseUrl}/admin/cases/${late}`);
    expect(res!.status()).toBe(404);
    expect(await page.getByRole('heading', { name: `Phiếu phản ánh ${late}` }).count()).toBe(0);
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `phan-anh-xa-khac-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});
