import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { formatFor } from '../../bot/http/console/i18n';
import { hcmYear } from '../../lib/time';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { a11yViolations, shot, signIn, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';
import { respond, rollUp } from '../support/figures-fixtures';
import { makeCase } from '../support/survey-fixtures';

/**
 * Tổng quan in a real browser against the whole process (issue 19, page 2): what it shows is
 * what the API answers the same person; drill-down, the period filter (htmx), the export; a
 * commune's official sees nothing of another commune; axe at a phone and a desktop width.
 */
const vi = formatFor('vi');
let c: ConsoleTest;
const api: Record<string, ApiClient> = {};

beforeAll(async () => {
  c = await startConsoleTest('consoleoverview', {
    users: { 'tinh.hue': ['district', ['46']], 'xa.dandien': ['unit', ['QD-DAN-DIEN']] },
  });
  const at = (d: string) => `${d}T03:00:00Z`;
  for (let i = 0; i < 6; i++)
    await respond('QD-DAN-DIEN', at(`2025-08-0${i + 1}`), [5, 4, 5, 4, 5, i === 0 ? 2 : 5], {
      procedure: i % 2 ? '1.001234' : '2.000305',
      officer: 'cb-dd-01',
    });
  await respond('QD-DAN-DIEN', at('2025-09-10'), [3, 3, 3, 3, 3, 3], {
    procedure: '1.001234',
    officer: 'cb-dd-01',
  });
  for (let i = 0; i < 3; i++) await respond('QD-QUANG-DIEN', at(`2025-09-1${i}`), [2, 2, 1, 2, 2, 1]);
  await rollUp(c.t);
  await makeCase('QD-DAN-DIEN', { dueInMs: -3_600_000 });
  await makeCase('QD-DAN-DIEN');
  await makeCase('QD-QUANG-DIEN');
  for (const name of ['tinh.hue', 'xa.dandien']) {
    api[name] = new ApiClient(c.baseUrl);
    await api[name].login(name, GOOD_PASSWORD);
  }
}, 240_000);

afterAll(() => c?.stop(), 60_000);

async function attributes(l: Locator, name: string): Promise<Array<string | null>> {
  return Promise.all((await l.all()).map((x) => x.getAttribute(name)));
}

async function figuresOf(user: string, query: Record<string, string>) {
  const r = await api[user]!.get('/api/v1/indices', query);
  expect(r.status).toBe(200);
  return r.body as {
    responses: number;
    overall: { index: number | null; n: number };
    responseRate: { value: number | null };
    ratio766: { value: number | null };
    cases: { open: number; overdue: number };
    elements: Record<string, { index: number | null; n: number }>;
  };
}

/** The page's figures against the API's, formatted as the page formats them. */
async function expectSameFigures(page: Page, user: string, query: Record<string, string>): Promise<void> {
  const f = await figuresOf(user, query);
  const text = async (id: string) => (await page.getByTestId(id).textContent())?.trim();
  expect(await text('overall-index')).toBe(
    f.overall.index === null ? 'Chưa có phiếu' : vi.percent(f.overall.index),
  );
  expect(await text('overall-n')).toBe(
    `n = ${vi.count(f.overall.n)} lượt đánh giá, từ ${vi.count(f.responses)} phiếu`,
  );
  expect(await text('response-rate')).toBe(vi.percent(f.responseRate.value));
  expect(await text('ratio-766')).toBe(vi.percent(f.ratio766.value));
  expect(await text('cases-open')).toBe(vi.count(f.cases.open));
  expect(await text('cases-detail')).toContain(`${vi.count(f.cases.overdue)} quá hạn`);
  for (const [code, s] of Object.entries(f.elements)) {
    const cells = await page
      .locator(`[data-testid=elements] tr[data-element="${code}"] td`)
      .allTextContents();
    expect([code, cells[0], cells[1]]).toEqual([code, vi.percent(s.index), vi.count(s.n)]);
  }
}

test('the province’s overview shows the API’s figures, the ranking of its communes and charts, at both widths', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.page(width);
    await signIn(page, c.baseUrl, 'tinh.hue', GOOD_PASSWORD, '/admin?unit=46&period=2025');
    expect(new URL(page.url()).search).toBe('?unit=46&period=2025');
    await expectSameFigures(page, 'tinh.hue', { unit: '46', period: '2025' });
    const ranking = (await api['tinh.hue']!.get('/api/v1/indices/ranking', { unit: '46', period: '2025' }))
      .body as {
      rows: Array<{ unitCode: string }>;
    };
    const rows = await attributes(page.locator('[data-testid=ranking] tbody tr'), 'data-unit');
    expect(rows).toEqual(ranking.rows.map((r) => r.unitCode));
    expect(await page.getByTestId('small-n').textContent()).toContain('chưa đủ để so sánh');
    // Chart.js drew both charts (a canvas it sized), without a script error or a CSP refusal.
    // A locator wait, not a string waitForFunction: its polling runs through eval, which the
    // page's CSP refuses whenever the first check is not already true.
    const drawn = page.locator('canvas[width]');
    await drawn.nth(1).waitFor();
    expect(await drawn.count()).toBe(2);
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `tong-quan-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('drill down province → commune → procedure, and the period filter updates the figures in place', async () => {
  const { context, page, watch } = await c.page();
  await signIn(page, c.baseUrl, 'tinh.hue', GOOD_PASSWORD, '/admin?unit=46&period=2025');
  await page.locator('[data-testid=ranking]').getByRole('link', { name: 'Xã Đan Điền' }).click();
  await page.waitForURL(/unit=QD-DAN-DIEN/);
  expect(await page.getByTestId('unit-name').textContent()).toContain('Xã Đan Điền');
  expect(await page.getByRole('navigation', { name: 'Vị trí đơn vị' }).textContent()).toContain(
    'Thành phố Huế',
  );
  await expectSameFigures(page, 'tinh.hue', { unit: 'QD-DAN-DIEN', period: '2025' });
  await shot(page, 'tong-quan-xa');

  await page.locator('[data-testid=by-procedure]').getByRole('link', { name: '2.000305' }).click();
  await page.waitForURL(/procedure=2.000305/);
  expect(await page.getByRole('status').or(page.locator('p.notice')).first().textContent()).toContain(
    '2.000305',
  );
  await expectSameFigures(page, 'tinh.hue', { unit: 'QD-DAN-DIEN', period: '2025', procedure: '2.000305' });
  await page.locator('[data-testid=by-officer]').getByRole('link', { name: 'cb-dd-01' }).click();
  await page.waitForURL(/officer=cb-dd-01/);
  await expectSameFigures(page, 'tinh.hue', { unit: 'QD-DAN-DIEN', period: '2025', officer: 'cb-dd-01' });

  // The period selector swaps the figures by htmx: same document, new URL, the month's figures.
  await page.goto(`${c.baseUrl}/admin?unit=QD-DAN-DIEN&period=2025`);
  await page.evaluate('window.marker = 1');
  await page.getByLabel('Kỳ báo cáo').selectOption('2025-09');
  await page.waitForURL(/period=2025-09/);
  await page.getByTestId('unit-name').filter({ hasText: 'Tháng 09/2025' }).waitFor();
  expect(await page.evaluate('window.marker')).toBe(1);
  await expectSameFigures(page, 'tinh.hue', { unit: 'QD-DAN-DIEN', period: '2025-09' });
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('the export link downloads the API’s XLSX of what is shown', async () => {
  const { context, page } = await c.page();
  await signIn(page, c.baseUrl, 'xa.dandien', GOOD_PASSWORD, '/admin?unit=QD-DAN-DIEN&period=2025');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-xlsx').click(),
  ]);
  const file = readFileSync((await download.path())!);
  expect(file.subarray(0, 2).toString('latin1')).toBe('PK');
  expect(download.suggestedFilename()).toMatch(/\.xlsx$/);
  await context.close();
});

test('a commune’s official sees only that commune: its own units, no other commune’s name or figures', async () => {
  const { context, page, watch } = await c.page('phone');
  await signIn(page, c.baseUrl, 'xa.dandien');
  expect(await page.getByTestId('unit-name').textContent()).toContain('Xã Đan Điền');
  const options = await attributes(page.getByLabel('Đơn vị').locator('option'), 'value');
  const own = (
    (await api['xa.dandien']!.get('/api/v1/units')).body as { units: Array<{ code: string }> }
  ).units.map((u) => u.code);
  expect(options.sort()).toEqual(own.sort());
  expect(options).not.toContain('QD-QUANG-DIEN');
  const year = hcmYear(new Date());
  for (const path of [
    '/admin',
    `/admin?unit=QD-DAN-DIEN&period=2025`,
    `/admin?unit=QD-DAN-DIEN&period=${year}`,
  ]) {
    await page.goto(`${c.baseUrl}${path}`);
    const html = await page.content();
    for (const other of ['QD-QUANG-DIEN', 'Xã Quảng Điền', 'Phường Phong Quảng', 'Thành phố Huế'])
      expect([path, html.includes(other)]).toEqual([path, false]);
  }
  await expectSameFigures(page, 'xa.dandien', { unit: 'QD-DAN-DIEN', period: year });
  expect(Number(await page.getByTestId('cases-open').textContent())).toBeGreaterThanOrEqual(2);
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tong-quan-xa-phone');
  // Another commune by URL: the API's 404, shown as such, with nothing of it on the page.
  const res = await page.goto(`${c.baseUrl}/admin?unit=QD-QUANG-DIEN&period=2025`);
  expect(res!.status()).toBe(404);
  expect(await page.getByRole('alert').textContent()).toContain('ngoài phạm vi đơn vị');
  expect(await page.content()).not.toContain('Xã Quảng Điền');
  expect(await page.locator('[data-testid=overall-index]').count()).toBe(0);
  expect(watch.errors).toEqual([]);
  await context.close();
});
