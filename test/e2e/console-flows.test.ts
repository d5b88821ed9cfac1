import type { Page } from 'playwright-core';
import { defaultFlow } from '../../bot/flow/default-flow';
import { issueSurveyToken } from '../../bot/survey/token';
import { Dossier } from '../../models/dossier';
import { signedIn, type ApiClient } from '../support/api';
import { a11yViolations, shot, signIn, WIDTHS, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';

/**
 * Bảng hỏi in a real browser against the whole process (issue 19, page 3): an admin edits a
 * question and its reasons, meets the error of a branch to nowhere next to its field and fixes
 * it, answers a question in the live preview, publishes a new version and makes it live for one
 * commune; a citizen of that commune gets the new question in the web chat, one of another
 * commune the old one. Every flows page passes axe at both widths.
 */
const NEW_Q1 = 'Ông/Bà đánh giá thế nào về việc tiếp cận dịch vụ tại Bộ phận Một cửa (phiên bản thử)?';
const OLD_Q1 = defaultFlow.nodes.find((n) => n.id === 'q1')!.text.vi;
const NEW_REASON = 'Không có chỗ để xe';
let c: ConsoleTest;
let api: ApiClient;
let n = 0;

async function surveyLink(unitCode: string): Promise<string> {
  const code = `000.00.19.H57-251202-${String(++n).padStart(4, '0')}`;
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    procedureName: 'Chứng thực bản sao từ bản chính',
    unitCode,
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  return `${c.baseUrl}/s/${(await issueSurveyToken(code, new Date(), 24)).token}`;
}

async function checkPage(page: Page, name: string, width: Width): Promise<void> {
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, `${name}-${width}`);
}

beforeAll(async () => {
  c = await startConsoleTest('consoleflows', { users: { 'quantri.bh': ['admin', []] } });
  api = await signedIn(c.t, 'doc.bh', 'admin');
}, 180_000);

afterAll(() => c?.stop(), 60_000);

test('an admin edits, checks, previews, publishes and assigns a flow; citizens of the commune get the new question, others the old', async () => {
  const { context, page, watch } = await c.page('desktop');
  await signIn(page, c.baseUrl, 'quantri.bh', undefined, '/admin/flows');
  await page.getByRole('heading', { name: 'Bảng hỏi', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Tạo bản nháp' }).first().click();
  await page.getByRole('heading', { name: 'Bản nháp bảng hỏi default' }).waitFor();
  const draftUrl = page.url();

  // Change q1's text, and send its rule for 1 or 2 to a question that does not exist.
  await page.getByRole('link', { name: /^q1 · Thang 5 mức/ }).click();
  await page.getByLabel('Nội dung (tiếng Việt)').fill(NEW_Q1);
  await page.getByLabel('Đi đến câu (mã) của quy tắc 1').fill('khongco');
  await page.getByRole('button', { name: 'Lưu câu hỏi' }).first().click();
  await page.getByRole('status').filter({ hasText: 'Đã lưu' }).waitFor();
  const to = page.getByLabel('Đi đến câu (mã) của quy tắc 1');
  expect(await to.getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('#br_to_0-error').textContent()).toBe('Câu "khongco" không tồn tại');
  expect(await to.getAttribute('aria-describedby')).toBe('br_to_0-error');
  for (const width of Object.keys(WIDTHS) as Width[]) {
    await page.setViewportSize(WIDTHS[width]);
    await checkPage(page, `bang-hoi-cau-hoi-loi`, width);
  }
  await page.setViewportSize(WIDTHS.desktop);
  // The draft page lists the issue by its question, and the picture draws the missing target.
  await page.goto(draftUrl);
  await page
    .getByRole('alert')
    .filter({ hasText: /còn \d+ lỗi/ })
    .waitFor();
  expect(await page.locator('.flow-graph .node.missing').count()).toBe(1);
  await page.getByRole('button', { name: 'Kiểm tra' }).click();
  await page.locator('ol.nodes li.has-issues', { hasText: 'nodes.2.branches.0.to' }).waitFor();
  // Fixed: the rule goes to r1 again.
  await page.getByRole('link', { name: /^q1 · Thang 5 mức/ }).click();
  await page.getByLabel('Đi đến câu (mã) của quy tắc 1').fill('r1');
  await page.getByRole('button', { name: 'Lưu câu hỏi' }).first().click();
  await page.getByRole('status').filter({ hasText: 'Đã lưu' }).waitFor();
  expect(await page.locator('#br_to_0-error').count()).toBe(0);

  // The reasons after q1 get a new option, added in front of "Lý do khác" by moving it up.
  await page.goto(draftUrl);
  await page.getByRole('link', { name: /^r1 · Chọn nhiều/ }).click();
  await page.getByRole('button', { name: 'Thêm lựa chọn' }).click();
  await page.getByLabel('Giá trị lựa chọn 5').fill('gui_xe');
  await page.getByLabel('Nhãn lựa chọn 5 (tiếng Việt)').fill(NEW_REASON);
  await page.getByLabel('Nhãn lựa chọn 5 (tiếng Anh)').fill('No parking');
  await page.getByRole('button', { name: 'Chuyển lựa chọn 5 lên' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã lưu' }).waitFor();
  expect(await page.getByLabel('Nhãn lựa chọn 4 (tiếng Việt)').inputValue()).toBe(NEW_REASON);
  expect(await page.getByLabel('Nhãn lựa chọn 5 (tiếng Việt)').inputValue()).toBe('Lý do khác');
  for (const width of Object.keys(WIDTHS) as Width[]) {
    await page.setViewportSize(WIDTHS[width]);
    await checkPage(page, `bang-hoi-lua-chon`, width);
  }
  await page.setViewportSize(WIDTHS.desktop);

  // The live preview runs the saved draft: the new wording, an answer, the reasons with the new option.
  await page.goto(draftUrl);
  const preview = page.locator('#preview');
  await preview.getByRole('button', { name: 'Bắt đầu chạy thử' }).click();
  await preview.getByRole('button', { name: 'Đồng ý', exact: true }).click();
  await preview.locator('.bubble.bot', { hasText: NEW_Q1 }).waitFor();
  await preview.getByRole('button', { name: '2. Không hài lòng', exact: true }).click();
  await preview.getByRole('button', { name: NEW_REASON }).waitFor();
  expect(await preview.locator('.bubble.me').allTextContents()).toEqual(['Đồng ý', '2. Không hài lòng']);
  for (const width of Object.keys(WIDTHS) as Width[]) {
    await page.setViewportSize(WIDTHS[width]);
    await checkPage(page, `bang-hoi-chay-thu`, width);
  }
  await page.setViewportSize(WIDTHS.desktop);
  // Restartable: a new conversation from the consent question.
  await preview.getByRole('button', { name: 'Chạy lại từ đầu' }).click();
  await preview.getByRole('button', { name: 'Đồng ý', exact: true }).waitFor();
  expect(await preview.locator('.bubble.me').count()).toBe(0);

  // Publish, with the confirmation; then make it live for Đan Điền only.
  await page.getByRole('link', { name: 'Ban hành…' }).click();
  await page.getByRole('heading', { name: 'Ban hành phiên bản mới' }).waitFor();
  for (const width of Object.keys(WIDTHS) as Width[]) {
    await page.setViewportSize(WIDTHS[width]);
    await checkPage(page, `bang-hoi-ban-hanh`, width);
  }
  await page.setViewportSize(WIDTHS.desktop);
  await page.getByLabel(/đồng ý ban hành/).check();
  await page.getByRole('button', { name: 'Ban hành', exact: true }).click();
  const version = defaultFlow.version + 1;
  await page
    .getByRole('status')
    .filter({ hasText: `Đã ban hành phiên bản ${version}` })
    .waitFor();
  await page.getByLabel('Đơn vị').selectOption('QD-DAN-DIEN');
  await page.getByRole('button', { name: 'Áp dụng' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã áp dụng' }).waitFor();
  const row = page.locator('#assignments + p + .table-wrap tbody tr', { hasText: 'Đan Điền' });
  expect(await row.textContent()).toContain(`Phiên bản ${version}`);
  expect(watch.errors).toEqual([]);

  // What the API answers: the version, its audit, the assignment.
  const live = await api.request('GET', '/api/v1/flows/live?unitCode=QD-DAN-DIEN');
  expect(live.body).toMatchObject({ flowKey: 'default', version });
  const other = await api.request('GET', '/api/v1/flows/live?unitCode=19867');
  expect(other.body).toMatchObject({ version: defaultFlow.version });
  const audit = await api.request('GET', '/api/v1/audit?action=flow.published');
  expect(JSON.stringify(audit.body)).toContain(`default@${version}`);

  // The difference between the two versions names q1's text and r1's new option.
  await page.goto(`${c.baseUrl}/admin/flows/default/diff?from=${defaultFlow.version}&to=${version}`);
  await page.locator('tbody tr', { hasText: 'q1' }).filter({ hasText: NEW_Q1 }).waitFor();
  await page.locator('tbody tr', { hasText: 'r1' }).filter({ hasText: 'gui_xe' }).first().waitFor();
  await context.close();

  // Citizens in the web chat: Đan Điền gets the new question and option, Sịa the old question.
  const citizen = await c.browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'vi-VN' });
  citizen.setDefaultTimeout(20_000);
  const q = citizen.locator('section.q:has(form)');
  await citizen.goto(await surveyLink('QD-DAN-DIEN'));
  await citizen.getByRole('button', { name: 'Đồng ý', exact: true }).click();
  await q.locator('h2', { hasText: NEW_Q1 }).waitFor();
  await q.getByRole('button', { name: '2. Không hài lòng', exact: true }).click();
  await q.getByRole('button', { name: NEW_REASON }).click();
  await q.locator('button[aria-pressed="true"]', { hasText: NEW_REASON }).waitFor();
  await q.getByRole('button', { name: /Xong/ }).click();
  for (const hint of [
    'niêm yết công khai',
    'cán bộ, công chức',
    'kết quả giải quyết',
    'góp ý, phản ánh',
    'Nhìn chung',
  ]) {
    const open = citizen.locator('section.q:has(form)', { has: citizen.locator('h2', { hasText: hint }) });
    await open.getByRole('button', { name: '4. Hài lòng', exact: true }).click();
    await citizen.locator('.me', { hasText: '4. Hài lòng' }).last().waitFor();
  }
  await q.locator('.progress', { hasText: 'Câu 7/7' }).waitFor();
  await q.getByRole('button', { name: 'Bỏ qua' }).click();
  await citizen.getByText('không thể liên hệ lại').waitFor();
  await shot(citizen, 'bang-hoi-cong-dan-phien-ban-moi');

  await citizen.goto(await surveyLink('19867'));
  await citizen.getByRole('button', { name: 'Đồng ý', exact: true }).click();
  await q.locator('h2', { hasText: OLD_Q1.slice(0, 40) }).waitFor();
  expect(await citizen.getByText(NEW_Q1).count()).toBe(0);
  await citizen.close();
}, 300_000);

test('the flows list, a version and the diff pass the accessibility check at both widths; export and import round-trip', async () => {
  for (const width of Object.keys(WIDTHS) as Width[]) {
    const { context, page, watch } = await c.page(width);
    await signIn(page, c.baseUrl, 'quantri.bh', undefined, '/admin/flows');
    await checkPage(page, 'bang-hoi-danh-sach', width);
    await page.goto(`${c.baseUrl}/admin/flows/default/versions/${defaultFlow.version}`);
    await page.locator('.flow-graph').waitFor();
    expect(await page.locator('.flow-graph .node').count()).toBe(defaultFlow.nodes.length);
    await checkPage(page, 'bang-hoi-phien-ban', width);
    await page.goto(`${c.baseUrl}/admin/flows/default/diff?from=1&to=${defaultFlow.version}`);
    await checkPage(page, 'bang-hoi-so-sanh', width);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
  // Export as JSON (the API's file), paste it into the import form: a new draft of the same flow.
  const exported = await api.request('GET', `/api/v1/flows/default/versions/${defaultFlow.version}/export`);
  expect(exported.status).toBe(200);
  const { context, page } = await c.page('desktop');
  await signIn(page, c.baseUrl, 'quantri.bh', undefined, '/admin/flows');
  await page.getByLabel('Nội dung tệp JSON').fill('{ không phải json');
  await page.getByRole('button', { name: 'Nhập thành bản nháp' }).click();
  await page.getByRole('alert').filter({ hasText: 'không phải JSON' }).waitFor();
  await page.getByLabel('Nội dung tệp JSON').fill(exported.text);
  await page.getByRole('button', { name: 'Nhập thành bản nháp' }).click();
  await page.getByRole('heading', { name: 'Bản nháp bảng hỏi default' }).waitFor();
  expect(await page.locator('ol.nodes li').count()).toBe(defaultFlow.nodes.length);
  await context.close();
}, 300_000);
