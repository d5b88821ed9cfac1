import { Dossier } from '../../models/dossier';
import { AuditLog } from '../../models/audit-log';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { a11yViolations, shot, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';
import { meta, scale, suggestion } from '../support/ingest';
import { makeDossier, makeResponse } from '../support/survey-fixtures';

/**
 * Hồ sơ & Phiếu in a real browser against the whole process (issue 19, page 6): a commune
 * official looks a dossier up and sees its survey's path; another commune's dossier answers like
 * an unknown code; the responses are filtered, paged and downloaded as the API gives them; free
 * text only on demand for a role that may read it, never for a viewer.
 */
let c: ConsoleTest;
let expired: string;
let theirs: string;
const HOUR = 3_600_000;
const now = Date.now();
const UNIT = 'xa.dandien';
const OTHER = 'xa.quangdien';
const VIEWER = 'xem.dandien';
const WARD = 'phuong.phongquang';

beforeAll(async () => {
  c = await startConsoleTest('consoledossiers', {
    users: {
      [UNIT]: ['unit', ['QD-DAN-DIEN']],
      [OTHER]: ['unit', ['QD-QUANG-DIEN']],
      [WARD]: ['unit', ['QD-PHONG-QUANG']],
      [VIEWER]: ['viewer', ['QD-DAN-DIEN']],
    },
  });
  // A dossier whose survey went the whole way: invited on Zalo, reminded once, opened, started, answered.
  await Dossier.create({
    code: 'HS-DD-0001',
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: 'QD-DAN-DIEN',
    channel: 'in_person',
    status: 'finished',
    officerId: 'CB-1',
    receivedAt: new Date(now - 50 * HOUR),
    finishedAt: new Date(now - 26 * HOUR),
    survey: {
      token: 'tok-dd-1',
      issuedAt: new Date(now - 25 * HOUR),
      expiresAt: new Date(now + 48 * HOUR),
      responseId: 'resp-dos-1',
    },
    funnel: {
      invitedAt: new Date(now - 25 * HOUR),
      openedAt: new Date(now - 3 * HOUR),
      startedAt: new Date(now - 2.5 * HOUR),
      completedAt: new Date(now - 2 * HOUR),
    },
    invitation: { channel: 'zalo', sentAt: new Date(now - 25 * HOUR), remindersSent: 1 },
  });
  const answered = (code: string, unitCode: string, extra: Partial<ReturnType<typeof meta>> = {}) =>
    meta({
      dossierCode: code,
      unitCode,
      procedureCode: '1.001234',
      flowVersion: 2,
      officerId: 'CB-1',
      ...extra,
    });
  await storeCompletion(
    'resp-dos-1',
    answered('HS-DD-0001', 'QD-DAN-DIEN', { surveyChannel: 'zalo' }),
    [scale('q1', 'TIEP_CAN', 2), scale('q6', 'TONG_THE', 2), suggestion('Phải chờ hai tiếng mới được tiếp')],
    new Date(now - 2 * HOUR),
  );
  await storeCompletion(
    'resp-dos-2',
    answered('HS-DD-0002', 'QD-DAN-DIEN', { officerId: 'CB-2', dossierChannel: 'online', onlineLevel: 4 }),
    [scale('q1', 'TIEP_CAN', 5), scale('q6', 'TONG_THE', 5)],
    new Date(now - 4 * HOUR),
  );
  await storeCompletion(
    'resp-dos-3',
    answered('HS-QD-0001', 'QD-QUANG-DIEN'),
    [scale('q1', 'TIEP_CAN', 1), scale('q6', 'TONG_THE', 1), suggestion('Ý kiến của xã khác')],
    new Date(now - 5 * HOUR),
  );
  expired = await makeDossier('QD-DAN-DIEN', { expired: true, reminders: 2 });
  theirs = await makeDossier('QD-QUANG-DIEN', { answered: true });
  // A ward with more responses than a page holds (50).
  for (let i = 0; i < 51; i++)
    await makeResponse('QD-PHONG-QUANG', { score: 4, completedAt: new Date(now - (10 + i) * 60_000) });
}, 180_000);

afterAll(() => c?.stop(), 60_000);

/** The part of GET /api/v1/responses these tests read. */
interface ResponseList {
  responses: { responseId: string }[];
  nextCursor?: string | null;
}

/** The response ids of the list's rows, top to bottom. */
async function rowIds(page: import('playwright-core').Page): Promise<string[]> {
  const rows = await page.getByTestId('responses').locator('tbody tr').all();
  return Promise.all(rows.map(async (r) => (await r.getAttribute('data-response')) ?? ''));
}

test('a dossier looked up by its code shows its survey path, in Vietnamese, with times and channel', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.signedInPage(UNIT, width, '/admin/dossiers');
    await page.getByRole('heading', { name: 'Hồ sơ & Phiếu', level: 1 }).waitFor();
    await page.getByLabel('Mã hồ sơ').fill('HS-DD-0001');
    await page.getByRole('button', { name: 'Tra cứu' }).click();
    await page.getByRole('heading', { name: 'Hồ sơ HS-DD-0001' }).waitFor();
    expect(await page.getByTestId('stage').textContent()).toBe('Đã có phiếu');
    // The unit by its name, with its code (one GET /units for the page).
    expect(await page.getByTestId('dossier-unit').textContent()).toBe('Xã Đan Điền (QD-DAN-DIEN)');
    const steps = page.getByTestId('timeline').locator('li');
    const states = await steps.evaluateAll((li) => li.map((l) => `${l.dataset.step}:${l.dataset.state}`));
    expect(states).toEqual([
      'received:done',
      'finished:done',
      'invited:done',
      'reminded:done',
      'opened:done',
      'started:done',
      'answered:done',
    ]);
    const text = (await page.getByTestId('timeline').textContent()) ?? '';
    expect(text).toContain('Gửi lời mời đánh giá');
    expect(text).toContain('Qua Zalo');
    expect(text).toContain('Đã nhắc 1 lần');
    // The API's time, as dd/mm/yyyy HH:mm in Asia/Ho_Chi_Minh.
    const api = new ApiClient(c.baseUrl);
    await api.login(UNIT, GOOD_PASSWORD);
    const d = (await api.get('/api/v1/dossiers/HS-DD-0001')).body as { funnel: { answeredAt: string } };
    const hcm = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Ho_Chi_Minh',
      day: '2-digit',
      month: '2-digit',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    });
    expect(text).toContain(hcm.format(new Date(d.funnel.answeredAt)).replace(',', ''));
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `ho-so-${width}`);
    // Its response, from the link under the path.
    await page.getByRole('link', { name: 'Xem phiếu trả lời của hồ sơ này' }).click();
    await page.getByTestId('responses').waitFor();
    expect(await rowIds(page)).toEqual(['resp-dos-1']);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('an expired link shows as expired; another commune’s dossier answers exactly like an unknown code', async () => {
  const { context, page, watch } = await c.signedInPage(UNIT, 'desktop', `/admin/dossiers?code=${expired}`);
  expect(await page.getByTestId('stage').textContent()).toBe('Hết hạn');
  expect(await page.getByTestId('timeline').locator('li').last().getAttribute('data-state')).toBe('missed');
  const shown = async (code: string) => {
    const r = await page.goto(`${c.baseUrl}/admin/dossiers?code=${encodeURIComponent(code)}`);
    const msg = await page.getByTestId('not-found').textContent();
    return {
      status: r?.status(),
      msg: msg?.replace(code, '<code>'),
      detail: await page.getByTestId('timeline').count(),
    };
  };
  const foreign = await shown(theirs);
  expect(foreign).toEqual({
    status: 404,
    msg: 'Không tìm thấy hồ sơ mã <code> trong các đơn vị Ông/Bà được xem.',
    detail: 0,
  });
  expect(await shown('HS-KHONG-CO-0000')).toEqual(foreign);
  expect(await page.content()).not.toContain('QD-QUANG-DIEN');
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('responses are filtered as the API filters them and downloaded with the same filters', async () => {
  const api = new ApiClient(c.baseUrl);
  await api.login(UNIT, GOOD_PASSWORD);
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.signedInPage(UNIT, width, '/admin/dossiers/responses');
    await page.getByTestId('responses').waitFor();
    // Only the commune's own responses, newest first: the other commune's never appear.
    const all = ((await api.get('/api/v1/responses')).body as ResponseList).responses.map(
      (r) => r.responseId,
    );
    expect(await rowIds(page)).toEqual(all);
    expect(all).toEqual(['resp-dos-1', 'resp-dos-2']);
    await expect(page.getByTestId('responses').locator('tbody').textContent()).resolves.toContain(
      'Xã Đan Điền (QD-DAN-DIEN)',
    );
    expect(await page.content()).not.toContain('HS-QD-0001');
    // Free text is not on the page until asked for.
    expect(await page.getByTestId('free-text').first().textContent()).toContain('Có ý kiến (ẩn)');
    expect(await page.content()).not.toContain('Phải chờ hai tiếng');

    await page.getByLabel('Kênh khảo sát').selectOption('zalo');
    await page.getByLabel('Điểm', { exact: true }).selectOption('1-2');
    await page.getByLabel('Yếu tố của điểm').selectOption('TIEP_CAN');
    await page.getByRole('button', { name: 'Xem', exact: true }).click();
    await page.waitForURL(/surveyChannel=zalo/);
    expect(await rowIds(page)).toEqual(['resp-dos-1']);
    expect(await page.getByLabel('Kênh khảo sát').inputValue()).toBe('zalo');
    await page.getByLabel('Mã cán bộ').fill('CB-9');
    await page.getByRole('button', { name: 'Xem', exact: true }).click();
    await page.getByTestId('no-responses').waitFor();
    if (width === 'desktop') {
      await page.goto(`${c.baseUrl}/admin/dossiers/responses?channel=online_4`);
      expect(await rowIds(page)).toEqual(['resp-dos-2']);
      // The download link carries the filters: the file holds what the list shows.
      const csv = await page.getByRole('link', { name: 'Tải phiếu đã lọc (CSV)' }).getAttribute('href');
      expect(csv).toBe('/api/v1/responses/export.csv?channel=online_4');
      // Fetched in the page's context: the session cookie the link would carry.
      const res = await page.request.get(`${c.baseUrl}${csv}`);
      expect(res.status()).toBe(200);
      const file = await res.text();
      expect(file).toContain('HS-DD-0002');
      expect(file).not.toContain('HS-DD-0001');
      const xlsx = await page.getByRole('link', { name: 'Tải phiếu đã lọc (Excel)' }).getAttribute('href');
      expect(xlsx).toBe('/api/v1/responses/export.xlsx?channel=online_4');
      const entry = await AuditLog.findOne({ action: 'responses.exported', actor: UNIT })
        .sort({ seq: -1 })
        .lean();
      expect(entry?.details).toMatchObject({ format: 'csv', responses: 1, filters: ['channel=online_4'] });
      await page.goto(`${c.baseUrl}/admin/dossiers/responses`);
    }
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `phieu-tra-loi-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('free text on demand for a unit official (audited); never for a viewer', async () => {
  const { context, page, watch } = await c.signedInPage(UNIT, 'desktop', '/admin/dossiers/responses');
  const before = await AuditLog.countDocuments({ action: 'responses.free_text_read', actor: UNIT });
  await page.getByRole('link', { name: 'Hiện ý kiến tự do (được ghi nhật ký)' }).click();
  await page.waitForURL(/text=1/);
  expect(await page.getByTestId('free-text').first().textContent()).toContain(
    'Phải chờ hai tiếng mới được tiếp',
  );
  expect(await AuditLog.countDocuments({ action: 'responses.free_text_read', actor: UNIT })).toBe(before + 1);
  expect(await page.getByRole('link', { name: 'Tải phiếu đã lọc (CSV)' }).getAttribute('href')).toContain(
    'includeText=true',
  );
  await shot(page, 'phieu-tra-loi-y-kien');
  expect(watch.errors).toEqual([]);
  await context.close();

  // A viewer: no menu entry, the pages refused, and no free text anywhere.
  const v = await c.signedInPage(VIEWER, 'desktop', '/admin');
  expect(await v.page.locator('nav.sections').getByRole('link', { name: 'Hồ sơ & Phiếu' }).count()).toBe(0);
  for (const path of ['/admin/dossiers/responses?text=1', '/admin/dossiers?code=HS-DD-0001']) {
    const r = await v.page.goto(`${c.baseUrl}${path}`);
    expect(r?.status()).toBe(403);
    const html = await v.page.content();
    expect(html).not.toContain('Phải chờ hai tiếng');
    expect(html).not.toContain('HS-DD-0001</');
  }
  expect(await a11yViolations(v.page)).toEqual([]);
  await v.context.close();
});

test('pages follow the API’s cursor: 50, then the rest, then back to the first', async () => {
  const { context, page, watch } = await c.signedInPage(WARD, 'phone', '/admin/dossiers/responses');
  const api = new ApiClient(c.baseUrl);
  await api.login(WARD, GOOD_PASSWORD);
  const first = (await api.get('/api/v1/responses', { limit: '50' })).body as ResponseList;
  expect(await rowIds(page)).toEqual(first.responses.map((r) => r.responseId));
  expect(await page.getByTestId('page-count').textContent()).toBe('50 phiếu trên trang này');
  await page.getByRole('link', { name: 'Trang sau' }).click();
  await page.waitForURL(/cursor=/);
  expect(typeof first.nextCursor).toBe('string');
  const cursor = String(first.nextCursor);
  const second = (await api.get('/api/v1/responses', { limit: '50', cursor })).body as ResponseList;
  expect(await rowIds(page)).toEqual(second.responses.map((r) => r.responseId));
  expect(second.responses).toHaveLength(1);
  expect(await page.getByRole('link', { name: 'Trang sau' }).count()).toBe(0);
  await page.getByRole('link', { name: 'Về trang đầu' }).click();
  await page.waitForURL((u) => !u.search.includes('cursor'));
  expect(await rowIds(page)).toHaveLength(50);
  // A cursor the API refuses (an address typed or cut short): its reason in both languages, and
  // no list, neither rows nor "no responses" as if one had been read.
  const refused = await page.goto(`${c.baseUrl}/admin/dossiers/responses?cursor=khong-phai`);
  expect(refused!.status()).toBe(422);
  expect(await page.getByText('Dữ liệu không hợp lệ. / Invalid request.', { exact: true }).count()).toBe(1);
  expect(await page.getByTestId('no-responses').count()).toBe(0);
  expect(await page.getByTestId('responses').count()).toBe(0);
  expect(watch.errors).toEqual([]);
  await context.close();
});
