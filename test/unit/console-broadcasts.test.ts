import { join } from 'node:path';
import { Eta } from 'eta';
import { translator } from '../../bot/http/console/i18n';
import { broadcasts } from '../../bot/http/console/messages/broadcasts';
import {
  actionsFor,
  contentOfForm,
  excerpt,
  fieldOfPath,
  localOfIso,
  badSendAt,
  previewParts,
  progressFigures,
  reasonLabel,
  sendAtOfForm,
  targetOfForm,
  type ProgressView,
} from '../../bot/http/console/pages/broadcasts-model';

const t = translator('vi', broadcasts);

test('the target of the form: one channel ticked is that channel, both or none is every channel; tags split', () => {
  expect(targetOfForm({ unitCode: ' QD-DAN-DIEN ', ch_telegram: 'on', ch_zalo: 'on', lang: '' })).toEqual({
    unitCode: 'QD-DAN-DIEN',
  });
  expect(targetOfForm({ unitCode: 'X', ch_zalo: 'on', lang: 'en', tags: ' nong-dan, , hoc-sinh ' })).toEqual({
    unitCode: 'X',
    channels: ['zalo'],
    lang: 'en',
    tags: ['nong-dan', 'hoc-sinh'],
  });
  expect(targetOfForm({ lang: 'fr' })).toEqual({});
});

test('the content of the form: empty button rows are no button, a half-filled one goes to the API', () => {
  expect(contentOfForm({ text: 'Tin', textEn: '  ', imageUrl: '' })).toEqual({ text: 'Tin' });
  expect(
    contentOfForm({
      text: 'Tin',
      textEn: 'News',
      imageUrl: ' https://a.vn/x.jpg ',
      b0_text: 'Xem',
      b0_textEn: 'See',
      b0_url: 'https://a.vn',
      b2_url: 'https://b.vn',
    }),
  ).toEqual({
    text: 'Tin',
    textEn: 'News',
    imageUrl: 'https://a.vn/x.jpg',
    buttons: [
      { text: 'Xem', textEn: 'See', url: 'https://a.vn' },
      { text: '', url: 'https://b.vn' },
    ],
  });
});

test('a datetime-local value is Vietnam time; an ISO instant comes back as the same wall clock', () => {
  expect(sendAtOfForm('2026-12-15T08:30')).toBe('2026-12-15T01:30:00.000Z');
  expect(sendAtOfForm('')).toBeNull();
  expect(sendAtOfForm('sáng mai')).toBe('sáng mai');
  // What an official types: dd/mm/yyyy hh:mm; a day that is not one is refused before the API.
  expect(sendAtOfForm('15/12/2026 08:30')).toBe('2026-12-15T01:30:00.000Z');
  expect(badSendAt('15/12/2026 8:30')).toBe(false);
  expect(badSendAt('31/02/2026 08:30')).toBe(true);
  expect(badSendAt('15/12/2026 25:00')).toBe(true);
  expect(badSendAt('')).toBe(false);
  expect(localOfIso('2026-12-15T01:30:00.000Z')).toBe('15/12/2026 08:30');
  expect(localOfIso(null)).toBe('');
});

test('API paths name the composer’s fields', () => {
  expect(fieldOfPath('buttons.1.url')).toBe('b1_url');
  expect(fieldOfPath('buttons.0.textEn')).toBe('b0_textEn');
  expect(fieldOfPath('imageUrl')).toBe('imageUrl');
  expect(fieldOfPath('tags.3')).toBe('tags');
});

test('the preview splits the unsubscribe line from the body', () => {
  const m = {
    lang: 'vi' as const,
    html: '',
    plain: 'Dòng 1\n\nDòng 2\n\nNhắn /stop để ngừng nhận thông báo.',
    imageUrl: null,
    links: [],
    stopButton: 'Ngừng nhận tin',
  };
  expect(previewParts(m)).toEqual({
    body: 'Dòng 1\n\nDòng 2',
    footer: 'Nhắn /stop để ngừng nhận thông báo.',
  });
});

// The preview fragment as the composer shows it (previewOf: [] nothing typed yet, null refused).
test('a content the API refused shows its problems, not "type a text" as if nothing was typed', () => {
  const eta = new Eta({
    views: join(__dirname, '..', '..', 'bot', 'http', 'console', 'views'),
    useWith: false,
  });
  const render = (data: Record<string, unknown>) => eta.render('./broadcasts-preview', { t, ...data });
  const refused = render({ previews: null, problems: ['imageUrl: Đường dẫn không hợp lệ'] });
  expect(refused).toContain(t('bc.preview.problems'));
  expect(refused).toContain('imageUrl: Đường dẫn không hợp lệ');
  expect(refused).not.toContain(t('bc.preview.empty'));
  expect(render({ previews: [], problems: [] })).toContain(t('bc.preview.empty'));
});

const progress = (over: Partial<ProgressView>): ProgressView => ({
  status: 'sending',
  recipients: 200,
  fanoutDone: true,
  counts: { queued: 100, sending: 0, sent: 90, failed: 5, blocked: 5, skipped: 0, cancelled: 0 },
  done: 100,
  ratePerS: 2,
  etaSeconds: 125,
  failedReasons: {},
  blockedReasons: {},
  unsubscribedDuring: 0,
  ...over,
});

test('progress: the share done and the time left in words; a finished broadcast has no time left', () => {
  expect(progressFigures(progress({}), t)).toEqual({ percent: 50, left: '2 phút 5 giây', finished: 100 });
  expect(progressFigures(progress({ etaSeconds: 9 }), t).left).toBe('9 giây');
  expect(progressFigures(progress({ etaSeconds: null }), t).left).toBeNull();
  expect(progressFigures(progress({ status: 'completed', done: 200, etaSeconds: 0 }), t)).toEqual({
    percent: 100,
    left: null,
    finished: 200,
  });
  expect(progressFigures(progress({ status: 'completed', recipients: 0, done: 0 }), t).percent).toBe(100);
  expect(progressFigures(progress({ status: 'scheduled', recipients: 0, done: 0 }), t).percent).toBe(0);
});

test('actions: the author cannot approve; an approver without write only approves; states gate the controls', () => {
  const pending = { status: 'pending_approval' as const, createdBy: 'bc.soan', startedAt: null };
  const author = { username: 'BC.Soan', permissions: ['broadcasts:read', 'broadcasts:write'] };
  const manager = { username: 'xa.dandien', permissions: ['broadcasts:read', 'broadcasts:approve'] };
  expect(actionsFor(pending, author)).toMatchObject({
    approve: false,
    waitsForOther: true,
    test: true,
    schedule: true,
  });
  expect(actionsFor(pending, manager)).toEqual({
    approve: true,
    waitsForOther: false,
    test: false,
    schedule: false,
    pause: false,
    resume: false,
    cancel: false,
  });
  expect(actionsFor({ ...pending, status: 'sending', startedAt: 'x' }, author)).toMatchObject({
    pause: true,
    resume: false,
    cancel: true,
    schedule: false,
  });
  expect(actionsFor({ ...pending, status: 'paused' }, author)).toMatchObject({ pause: false, resume: true });
  expect(actionsFor({ ...pending, status: 'completed' }, author)).toMatchObject({
    test: false,
    pause: false,
    cancel: false,
  });
});

test('an excerpt is the first non-empty line, cut', () => {
  expect(excerpt('\n  \nLịch tiếp dân\nchi tiết')).toBe('Lịch tiếp dân');
  expect(excerpt('a'.repeat(100), 10)).toBe(`${'a'.repeat(9)}…`);
});

test('report reasons read as words in both languages; a code no rule knows is shown as it is', () => {
  const en = translator('en', broadcasts);
  expect(reasonLabel('blocked', t)).toBe('Công dân đã chặn tài khoản gửi tin');
  expect(reasonLabel('blocked', en)).toBe('The citizen blocked the sending account');
  expect(reasonLabel('zalo_outside_window', t)).toBe('Công dân không tương tác với Zalo OA trong 7 ngày qua');
  expect(reasonLabel('telegram_400', t)).toBe('Telegram từ chối tin (mã 400)');
  expect(reasonLabel('telegram_400', en)).toBe('Telegram refused the message (code 400)');
  // Zalo codes by their cause (zalo/errors.ts): not following, cannot receive, for now, refused.
  expect(reasonLabel('zalo_-213', t)).toBe('Công dân không còn quan tâm Zalo OA (mã -213)');
  expect(reasonLabel('zalo_-227', t)).toBe('Tài khoản Zalo của công dân không nhận được tin (mã -227)');
  expect(reasonLabel('zalo_-216', t)).toBe('Zalo tạm thời không nhận tin (mã -216)');
  expect(reasonLabel('zalo_-201', en)).toBe('Zalo refused the message (code -201)');
  expect(reasonLabel('ZaloHttpError', t)).toBe('Không kết nối được tới Zalo');
  expect(reasonLabel('TelegramUnreachableError', en)).toBe('Telegram could not be reached');
  expect(reasonLabel('Error', t)).toBe('Lỗi khác (Error)');
});
