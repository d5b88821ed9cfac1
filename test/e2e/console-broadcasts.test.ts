import type { Page } from 'playwright-core';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import { User } from '../../models/user';
import { FakeTelegram } from '../fakes/telegram-server';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { a11yViolations, shot, type Width } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';

/**
 * Tuyên truyền in a real browser against the whole process with the workers role (issue 19,
 * page 5): a broadcaster composes a broadcast to one commune (the count follows the target, the
 * preview shows each channel), tests it on their own chat, a unit manager of that commune
 * approves it, the progress bar reaches the end and the report counts exactly what the fake
 * Telegram delivered. Delivery is the real broadcast workers against the fake Bot API.
 */
let fake: FakeTelegram;
let c: ConsoleTest;
/** The commune's Telegram chats (4: one English, one tagged, one that blocked the bot). */
const OURS = ['81001', '81002', '81003', '81004'];
const BLOCKED = '81004';
const THEIRS = '82001';
const OWN_CHAT = '89999';
const TEXT = 'Từ ngày 15/12, Bộ phận Một cửa xã tiếp công dân cả sáng thứ Bảy.';
let composedId = '';

beforeAll(async () => {
  fake = await FakeTelegram.start();
  c = await startConsoleTest('consolebc', {
    env: {
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: 'consolebc_secret',
      TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
      // No quiet hours: the broadcast goes out whatever the hour of the run.
      QUIET_HOURS_START: '00:00',
      QUIET_HOURS_END: '00:00',
    },
    // The broadcast workers deliver through the fake Bot API.
    roles: ['http', 'workers'],
    users: {
      'bc.soan': ['broadcaster', ['QD-DAN-DIEN']],
      'xa.dandien': ['unit', ['QD-DAN-DIEN']],
      'xem.huyen': ['viewer', ['477']],
    },
  });
  const consentAt = new Date();
  await Contact.insertMany([
    ...OURS.map((id, i) => ({
      channel: 'telegram',
      channelUserId: id,
      consentAt,
      unitCodes: ['QD-DAN-DIEN'],
      lang: i === 1 ? 'en' : 'vi',
      tags: i === 2 ? ['nong-dan'] : [],
    })),
    { channel: 'telegram', channelUserId: THEIRS, consentAt, unitCodes: ['QD-QUANG-DIEN'] },
  ]);
  fake.block(BLOCKED);
}, 180_000);

afterAll(async () => {
  await c?.stop();
  await fake?.close();
}, 60_000);

/** The recipient count the composer shows, once it shows `n`. */
async function countShows(page: Page, n: number): Promise<void> {
  await page.locator(`[data-testid="recipients"][data-total="${n}"]`).waitFor();
}

test('a viewer has no Tuyên truyền in the menu, and the page refuses them', async () => {
  const { context, page, watch } = await c.signedInPage('xem.huyen', 'desktop');
  const menu = page.getByRole('navigation', { name: 'Điều hướng chính' });
  await menu.waitFor();
  expect(await menu.getByRole('link', { name: 'Tuyên truyền' }).count()).toBe(0);
  const res = await page.goto(`${c.baseUrl}/admin/broadcasts`);
  expect(res!.status()).toBe(403);
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('the composer at both widths: labelled, the count of the commune, the preview per channel', async () => {
  for (const width of ['desktop', 'phone'] as Width[]) {
    const { context, page, watch } = await c.signedInPage('bc.soan', width, '/admin/broadcasts');
    await page.getByRole('heading', { name: 'Tuyên truyền', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Soạn tin tuyên truyền' }).click();
    await page.getByRole('heading', { name: 'Soạn tin tuyên truyền', level: 1 }).waitFor();
    await countShows(page, OURS.length);
    await page.getByLabel('Nội dung tiếng Việt').fill(TEXT);
    await page.getByTestId('preview-telegram-vi').waitFor();
    expect(await a11yViolations(page)).toEqual([]);
    await shot(page, `tuyen-truyen-soan-${width}`);
    expect(watch.errors).toEqual([]);
    await context.close();
  }
});

test('a broadcaster composes a broadcast to the commune, tests it on their own chat, and cannot approve it', async () => {
  const { context, page, watch } = await c.signedInPage('bc.soan', 'desktop', '/admin/broadcasts/new');
  await countShows(page, OURS.length);
  // The count follows the target: the language, a tag, then back to everyone.
  await page.getByLabel('Ngôn ngữ người nhận').selectOption('en');
  await countShows(page, 1);
  await page.getByLabel('Ngôn ngữ người nhận').selectOption('');
  await page.getByLabel('Nhãn (cách nhau bằng dấu phẩy, không bắt buộc)').fill('nong-dan');
  await countShows(page, 1);
  await page.getByLabel('Nhãn (cách nhau bằng dấu phẩy, không bắt buộc)').fill('');
  await countShows(page, OURS.length);
  await page.getByLabel('Zalo').uncheck();
  await countShows(page, OURS.length);

  await page.getByLabel('Nội dung tiếng Việt').fill(TEXT);
  await page
    .getByLabel(/^Nội dung tiếng Anh/)
    .fill('From 15 December the one-stop shop also opens on Saturday mornings.');
  // An address the API refuses: its problem in the preview, not "type a text" as if none was typed.
  const preview = page.locator('#bc-preview');
  await page.getByLabel('Địa chỉ ảnh (https://…, không bắt buộc)').fill('lich.jpg');
  await preview.filter({ hasText: 'Nội dung chưa gửi được:' }).waitFor();
  await expect(preview.textContent()).resolves.toContain('imageUrl');
  await expect(preview.textContent()).resolves.not.toContain('Nhập nội dung để xem trước.');
  await page.getByLabel('Địa chỉ ảnh (https://…, không bắt buộc)').fill('https://example.gov.vn/lich.jpg');
  await page.getByLabel('Chữ trên nút 1', { exact: true }).fill('Xem lịch');
  await page.getByLabel('Chữ trên nút 1 (tiếng Anh)').fill('See the hours');
  await page.getByLabel('Địa chỉ của nút 1').fill('https://example.gov.vn/lich');
  const tg = page.getByTestId('preview-telegram-vi');
  await tg.filter({ hasText: 'Xem lịch' }).waitFor();
  await expect(tg.textContent()).resolves.toContain('Nhắn /stop để ngừng nhận thông báo.');
  await expect(tg.textContent()).resolves.toContain('Ngừng nhận tin');
  await page.getByTestId('preview-zalo-en').filter({ hasText: 'See the hours' }).waitFor();
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tuyen-truyen-xem-truoc-desktop');

  // A send time is typed dd/mm/yyyy hh:mm; one that is not a time is said under the field, nothing saved.
  const stored = await Broadcast.countDocuments({});
  await page.getByLabel('Gửi lúc').fill('31/02/2026 08:30');
  await page.getByRole('button', { name: 'Lưu tin tuyên truyền' }).click();
  await expect(page.locator('#sendAt-error').textContent()).resolves.toBe(
    'Thời điểm không hợp lệ. Xin nhập theo dạng ngày/tháng/năm giờ:phút, ví dụ 31/12/2026 08:30.',
  );
  expect(await Broadcast.countDocuments({})).toBe(stored);
  expect(await a11yViolations(page)).toEqual([]);
  await page.getByLabel('Gửi lúc').fill('');
  await page.getByRole('button', { name: 'Lưu tin tuyên truyền' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã lưu tin tuyên truyền.' }).waitFor();
  composedId = new URL(page.url()).pathname.split('/').pop()!;
  expect(await page.getByTestId('bc-status').textContent()).toBe('Chờ duyệt');
  await page.getByText('Tin đang chờ một người khác duyệt; người soạn không tự duyệt được.').waitFor();
  expect(await page.getByRole('button', { name: 'Duyệt và cho gửi' }).count()).toBe(0);

  // A test without a linked chat says how to link one, and makes the code.
  await page.getByRole('button', { name: 'Gửi thử', exact: true }).click();
  await expect(page.getByTestId('bc-error').textContent()).resolves.toContain(
    'chưa liên kết Telegram hoặc Zalo',
  );
  await page.getByRole('button', { name: 'Tạo mã liên kết' }).click();
  const link = page.getByTestId('chat-link');
  await link.waitFor();
  expect(await link.getByRole('link', { name: 'Mở trong Telegram' }).getAttribute('href')).toMatch(
    /^https:\/\/t\.me\/hailong_test_bot\?start=l_/,
  );
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tuyen-truyen-lien-ket-desktop');
  // The official opens the link in their chat (telegram-chat-link.test.ts covers that path).
  await User.updateOne(
    { username: 'bc.soan' },
    { $set: { linkedChat: { channel: 'telegram', userId: OWN_CHAT } } },
  );
  await page.getByRole('button', { name: 'Gửi thử', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Đã gửi tin thử' }).waitFor();
  expect(fake.sentTo(OWN_CHAT).map((m) => m.text)).toEqual([expect.stringContaining(TEXT)]);
  await shot(page, 'tuyen-truyen-cho-duyet-desktop');
  expect(watch.errors).toEqual([]);
  await context.close();
  // Nothing went to the citizens before the approval.
  for (const c of [...OURS, THEIRS]) expect(fake.sentTo(c)).toEqual([]);
});

test('the commune’s manager approves it; the progress reaches the end and the report counts the deliveries', async () => {
  expect(composedId).not.toBe('');
  const { context, page, watch } = await c.signedInPage('xa.dandien', 'desktop', '/admin/broadcasts');
  const pending = page.getByTestId('pending-table');
  await pending.locator(`tr[data-broadcast="${composedId}"]`).waitFor();
  await expect(pending.locator(`tr[data-broadcast="${composedId}"]`).textContent()).resolves.toContain(
    'Xã Đan Điền (QD-DAN-DIEN)',
  );
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tuyen-truyen-danh-sach-desktop');
  await pending.locator(`tr[data-broadcast="${composedId}"] a`).click();
  await page.getByRole('button', { name: 'Duyệt và cho gửi' }).click();
  await page.getByRole('status').filter({ hasText: 'Đã duyệt' }).waitFor();
  expect(await page.getByTestId('bc-approved-by').textContent()).toBe('xa.dandien');
  expect(await page.getByTestId('bc-unit').textContent()).toBe('Xã Đan Điền (QD-DAN-DIEN)');
  // The page polls the progress and reloads when the state changes; the report ends it.
  const report = page.getByTestId('report');
  await report.waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('bc-status').textContent()).toBe('Hoàn thành');

  const delivered = OURS.filter((c) => fake.sentTo(c).length > 0);
  expect(delivered).toEqual(OURS.filter((c) => c !== BLOCKED));
  for (const c of delivered) expect(fake.sentTo(c)).toHaveLength(1);
  // The English contact got the English text.
  expect(fake.sentTo(OURS[1]!)[0]!.text).toContain('From 15 December');
  expect(fake.sentTo(THEIRS)).toEqual([]);
  expect(await page.getByTestId('report-recipients').textContent()).toBe(String(OURS.length));
  expect(await page.getByTestId('report-sent').textContent()).toBe(String(delivered.length));
  expect(await page.getByTestId('report-blocked').textContent()).toBe('1');
  expect(await page.getByTestId('report-failed').textContent()).toBe('0');
  // The blocked contact's reason in words, not the classifier's code.
  expect(await page.getByTestId('report-reasons').locator('tbody tr td').allTextContents()).toEqual([
    'Bị chặn',
    'Công dân đã chặn tài khoản gửi tin',
    '1',
  ]);
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tuyen-truyen-bao-cao-desktop');
  expect(watch.errors).toEqual([]);
  await context.close();

  const api = new ApiClient(c.baseUrl);
  expect((await api.login('xa.dandien', GOOD_PASSWORD)).status).toBe(200);
  const r = await api.get(`/api/v1/broadcasts/${composedId}/report`);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    status: 'completed',
    counts: { sent: delivered.length, blocked: 1, failed: 0 },
  });
});

test('the report and the progress page at a phone width', async () => {
  const { context, page, watch } = await c.signedInPage(
    'bc.soan',
    'phone',
    `/admin/broadcasts/${composedId}`,
  );
  await page.getByTestId('report').waitFor();
  expect(await a11yViolations(page)).toEqual([]);
  await shot(page, 'tuyen-truyen-bao-cao-phone');
  expect(watch.errors).toEqual([]);
  await context.close();
});

test('a scheduled broadcast is paused, resumed and cancelled from its page', async () => {
  const author = new ApiClient(c.baseUrl);
  expect((await author.login('bc.soan', GOOD_PASSWORD)).status).toBe(200);
  const made = await author.post('/api/v1/broadcasts', {
    text: 'Lịch tiếp công dân tháng sau',
    unitCode: 'QD-DAN-DIEN',
    sendAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  });
  expect(made.status).toBe(201);
  const id = made.body.id as string;
  const manager = new ApiClient(c.baseUrl);
  expect((await manager.login('xa.dandien', GOOD_PASSWORD)).status).toBe(200);
  expect((await manager.post(`/api/v1/broadcasts/${id}/approve`)).status).toBe(200);

  for (const width of ['desktop', 'phone'] as Width[]) {
    const { context, page, watch } = await c.signedInPage('bc.soan', width, `/admin/broadcasts/${id}`);
    if (width === 'desktop') {
      expect(await page.getByTestId('bc-status').textContent()).toBe('Đã lên lịch');
      expect(await a11yViolations(page)).toEqual([]);
      await shot(page, 'tuyen-truyen-da-len-lich-desktop');
      await page.getByRole('button', { name: 'Tạm dừng' }).click();
      await page.getByRole('status').filter({ hasText: 'Đã tạm dừng.' }).waitFor();
      expect(await page.getByTestId('bc-status').textContent()).toBe('Tạm dừng');
      await page.getByRole('button', { name: 'Tiếp tục gửi' }).click();
      await page.getByRole('status').filter({ hasText: 'Đã tiếp tục gửi.' }).waitFor();
    } else {
      await page.getByLabel('Tôi chắc chắn muốn huỷ (tin đã gửi không thu hồi được)').check();
      await page.getByRole('button', { name: 'Huỷ tin' }).click();
      await page.getByRole('status').filter({ hasText: 'Đã huỷ tin.' }).waitFor();
      expect(await page.getByTestId('bc-status').textContent()).toBe('Đã huỷ');
      expect(await a11yViolations(page)).toEqual([]);
      await shot(page, 'tuyen-truyen-da-huy-phone');
    }
    expect(watch.errors).toEqual([]);
    await context.close();
  }
  const r = await author.get(`/api/v1/broadcasts/${id}`);
  expect((r.body.broadcast as { status: string }).status).toBe('cancelled');
});
