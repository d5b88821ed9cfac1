import { Command } from 'commander';
import { registerUnitCommands } from '../../cli/commands/unit';
import { hcmMonth } from '../../lib/time';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { issueSurveyToken } from '../../bot/survey/token';
import { NOT_ALLOWED } from '../../workers/aggregation/cases/group-actions';
import { buildReport } from '../../indices/report';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, uriWithDb, type TestApp } from '../support/app';
import { testPrefix, uniqueName } from '../support/services';
import { until } from '../support/until';

/**
 * Issue 16, point 8: the case loop end to end through Telegram. An admin connects the unit's
 * group with a one-time code from the CLI; a dissatisfied citizen's case alert arrives there
 * with buttons; officials acknowledge it and close it with a reason (or a free reason, replying
 * to the bot); the citizen gets the unit's follow-up on Telegram; the report's on-time ratio
 * (Decision 766) moves. Other groups are refused.
 */
const SECRET = 'cases_secret-TOKEN_123';
const UNIT_GROUP = -100777;
const OTHER_GROUP = -100888;
const OFFICIAL = 555;
// The CLI reads its settings from the environment, like `npx hailong` does.
const prefix = testPrefix('tgcases');
const mongoUri = uriWithDb(uniqueName('tgcases'));
Object.assign(process.env, {
  REDIS_PREFIX: prefix,
  MONGODB_URI: mongoUri,
  TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
});

let fake: FakeTelegram;
let t: TestApp;
let seq = 0;

async function cli(...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    const program = new Command().exitOverride();
    registerUnitCommands(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
  }
  return lines;
}

const textsIn = (chatId: number) => fake.sentTo(chatId).map((m) => m.text);
async function nextIn(chatId: number, match: (text: string) => boolean, label: string) {
  await fake.waitFor(() => fake.sentTo(chatId).some((m) => match(m.text)), 30_000, label);
  return [...fake.sentTo(chatId)].reverse().find((m) => match(m.text))!;
}

/** Citizen `chatId` answers the whole survey for a new dossier of C-CASE, very dissatisfied with the access. */
async function dissatisfiedCitizen(chatId: number): Promise<string> {
  const code = `000.00.19.H57-260202-${String(++seq).padStart(4, '0')}`;
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode: 'C-CASE',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  const { token } = await issueSurveyToken(code, new Date(), 24);
  const u = fake.user(chatId);
  const said = (s: string) => nextIn(chatId, (x) => x.includes(s), s);
  await u.command('/start', token);
  await said('Ông/Bà có đồng ý tham gia không?');
  await u.tapLabel('Đồng ý');
  await said('nơi tiếp nhận hồ sơ');
  await u.tapLabel('Rất không hài lòng');
  await said('Ông/Bà chưa hài lòng về điều gì?');
  await u.tapLabel('Phải chờ lâu');
  await fake.waitFor(() =>
    fake
      .lastMessageTo(chatId)!
      .replyMarkup!.inline_keyboard.flat()
      .some((b) => b.text.startsWith('☑ Phải chờ lâu')),
  );
  await u.tapLabel('Xong');
  for (const q of [
    'niêm yết công khai',
    'cán bộ, công chức',
    'kết quả giải quyết hồ sơ',
    'Nếu Ông/Bà đã góp ý',
    'Nhìn chung',
  ]) {
    await said(q);
    await u.tapLabel('4. Hài lòng');
  }
  await said('Ông/Bà có góp ý gì thêm');
  await u.send('bỏ qua');
  await said('Chúng tôi rất tiếc vì Ông/Bà chưa hài lòng');
  return code;
}

async function caseOf(dossierCode: string) {
  await until(
    async () => !!(await Case.exists({ dossierCode, notifiedAt: { $ne: null } })),
    `the case of ${dossierCode}`,
    30_000,
  );
  return (await Case.findOne({ dossierCode }).lean())!;
}
const onTime = async () =>
  (await buildReport({ unit: 'C-CASE', period: hcmMonth(new Date()), units: null, officerMinN: 5 })).cases!;

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('tgcases', {
    REDIS_PREFIX: prefix,
    MONGODB_URI: mongoUri,
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
  });
  await Unit.insertMany([
    { code: 'D-CASE', name: 'Huyện Ca', level: 'district' },
    { code: 'C-CASE', name: 'Xã Ca', level: 'commune', parentCode: 'D-CASE' },
  ]);
});

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

test("an admin connects the unit's group with a one-time code printed by the CLI", async () => {
  const out = await cli('unit', 'connect-telegram', '--unit', 'C-CASE');
  const post = out[out.length - 1]!;
  expect(post).toMatch(/^\/ketnoi@hailong_test_bot [A-Z2-9]{8}$/);
  const code = post.split(' ')[1]!;
  expect(out.join('\n')).toContain('dùng một lần');

  const other = fake.groupMember(OTHER_GROUP, 777);
  await other.command('/ketnoi ABCDEFGH');
  expect((await nextIn(OTHER_GROUP, (s) => s.startsWith('Mã kết nối'), 'the refusal')).text).toContain(
    'không đúng hoặc đã hết hạn',
  );

  await fake.groupMember(UNIT_GROUP, OFFICIAL).command(post);
  expect((await nextIn(UNIT_GROUP, (s) => s.startsWith('✅ Đã kết nối'), 'the confirmation')).text).toContain(
    'Xã Ca (C-CASE)',
  );
  expect((await Unit.findOne({ code: 'C-CASE' }).lean())!.alertTelegramChatId).toBe(String(UNIT_GROUP));

  // Single use: the same code in another group connects nothing.
  await other.command(`/ketnoi ${code.toLowerCase()}`);
  await fake.waitFor(
    () => textsIn(OTHER_GROUP).filter((s) => s.startsWith('Mã kết nối')).length === 2,
    20_000,
    'the second refusal',
  );
  expect((await Unit.findOne({ code: 'C-CASE' }).lean())!.alertTelegramChatId).toBe(String(UNIT_GROUP));
  expect((await cli('unit', 'list')).find((l) => l.startsWith('C-CASE'))).toContain('telegram: đã kết nối');
});

test('the alert has buttons: acknowledge, close with a resolution; the citizen is told; the on-time ratio moves', async () => {
  const before = await onTime();
  const dossier = await dissatisfiedCitizen(3001);
  const c = await caseOf(dossier);
  const alert = await nextIn(UNIT_GROUP, (s) => s.includes(`Mã phiếu: ${c.caseId}`), 'the alert');
  expect(alert.text).toContain('Tiếp cận dịch vụ: 1/5 (Phải chờ lâu, thiếu chỗ ngồi)');
  expect(alert.replyMarkup!.inline_keyboard.flat().map((b) => b.text)).toEqual([
    '✅ Đã tiếp nhận',
    '✔️ Đóng phiếu',
  ]);

  // Another group pressing the same button (a forwarded alert, a forged press) changes nothing.
  const ack = alert.replyMarkup!.inline_keyboard[0]![0]!.callback_data!;
  await fake.groupMember(OTHER_GROUP, 777).tap(ack, 1);
  await fake.waitForCall(
    (call) => call.method === 'answerCallbackQuery' && call.params.text === NOT_ALLOWED,
    20_000,
  );
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.status).toBe('open');

  const official = fake.groupMember(UNIT_GROUP, OFFICIAL);
  await official.tapLabel('Đã tiếp nhận');
  await nextIn(
    UNIT_GROUP,
    (s) => s.startsWith(`✅ Phiếu ${c.caseId} đã được tiếp nhận`),
    'the acknowledgement',
  );
  expect(
    fake
      .sentTo(UNIT_GROUP)
      .find((m) => m.messageId === alert.messageId)!
      .replyMarkup!.inline_keyboard.flat()
      .map((b) => b.text),
  ).toEqual(['✔️ Đóng phiếu']);

  await official.tapLabel('Đóng phiếu');
  await fake.waitFor(
    () =>
      !!fake
        .sentTo(UNIT_GROUP)
        .find((m) => m.messageId === alert.messageId)!
        .replyMarkup!.inline_keyboard.flat()
        .some((b) => b.text === 'Đã khắc phục'),
  );
  await official.tapLabel('Đã khắc phục');
  const closed = await nextIn(UNIT_GROUP, (s) => s.startsWith(`✔️ Đã đóng phiếu ${c.caseId}`), 'the closing');
  expect(closed.text).toContain('(đúng hạn). Kết quả: Đã khắc phục');

  const followUp = await nextIn(3001, (s) => s.includes('khắc phục'), "the citizen's follow-up");
  expect(followUp.text).toBe(
    `Xã Ca phản hồi ý kiến của Ông/Bà về hồ sơ ${dossier}: Chúng tôi đã khắc phục vấn đề Ông/Bà phản ánh. Cảm ơn Ông/Bà đã góp ý để chúng tôi phục vụ tốt hơn.`,
  );
  await nextIn(
    UNIT_GROUP,
    (s) => s.startsWith(`✉️ Phiếu ${c.caseId}: đã nhắn công dân qua Telegram`),
    'the follow-up outcome',
  );

  const done = (await Case.findOne({ caseId: c.caseId }).lean())!;
  expect(done).toMatchObject({
    status: 'closed',
    closedBy: `tg:${OFFICIAL}`,
    closedOnTime: true,
    resolution: 'khac-phuc',
    followUpPending: false,
  });
  expect(done.log.map((l) => [l.action, l.by, l.detail])).toEqual([
    ['opened', 'system', null],
    ['notified', 'system', null],
    ['acknowledged', `tg:${OFFICIAL}`, null],
    ['closed', `tg:${OFFICIAL}`, 'khac-phuc'],
    ['follow_up_sent', `tg:${OFFICIAL}`, 'telegram'],
  ]);
  // Decision 766: feedback handled on time.
  const after = await onTime();
  expect(after.closedOnTime).toBe(before.closedOnTime + 1);
  expect(after.onTime.numerator).toBe(before.onTime.numerator + 1);
  expect(after.onTime.value).toBe(1);
  // Every button press in the groups was answered.
  expect(
    fake
      .callbackAnswers()
      .filter((a) => String(a.params.callback_query_id).startsWith('g'))
      .every((a) => a.outcome === 'ok'),
  ).toBe(true);
});

test('a reply to the alert is a note; "Lý do khác" closes with the reason replied to the bot', async () => {
  const dossier = await dissatisfiedCitizen(3002);
  const c = await caseOf(dossier);
  const alert = await nextIn(UNIT_GROUP, (s) => s.includes(`Mã phiếu: ${c.caseId}`), 'the alert');
  const official = fake.groupMember(UNIT_GROUP, OFFICIAL);

  await official.replyTo(alert.messageId, 'Đã gọi điện cho công dân');
  await nextIn(UNIT_GROUP, (s) => s.startsWith(`📝 Đã ghi chú vào phiếu ${c.caseId}`), 'the note');

  await official.tapLabel('Đóng phiếu');
  await fake.waitFor(
    () =>
      !!fake
        .sentTo(UNIT_GROUP)
        .find((m) => m.messageId === alert.messageId)!
        .replyMarkup!.inline_keyboard.flat()
        .some((b) => b.text.startsWith('✍️ Lý do khác')),
  );
  await official.tapLabel('Lý do khác');
  const prompt = await nextIn(
    UNIT_GROUP,
    (s) => s.startsWith('✍️ Lý do đóng phiếu') && s.includes(c.caseId),
    'the reason prompt',
  );
  expect(prompt.forceReply).toBe(true);
  await official.replyTo(prompt.messageId, '   ');
  await nextIn(UNIT_GROUP, (s) => s.startsWith('Chưa ghi được'), 'the empty reason refused');
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.status).toBe('open');
  await official.replyTo(prompt.messageId, 'Bố trí thêm ghế chờ ở bộ phận một cửa');
  await nextIn(UNIT_GROUP, (s) => s.startsWith(`✔️ Đã đóng phiếu ${c.caseId}`), 'the closing');
  const followUp = await nextIn(3002, (s) => s.includes('phản hồi ý kiến'), "the citizen's follow-up");
  // The free reason stays with the unit: the citizen gets the generic sentence.
  expect(followUp.text).toContain('Chúng tôi đã xem xét, xử lý phản ánh của Ông/Bà.');
  expect(followUp.text).not.toContain('ghế chờ');

  const done = (await Case.findOne({ caseId: c.caseId }).lean())!;
  expect(done).toMatchObject({ status: 'closed', resolution: null, closedBy: `tg:${OFFICIAL}` });
  expect(
    done.log.filter((l) => l.action === 'note' || l.action === 'closed').map((l) => [l.action, l.note]),
  ).toEqual([
    ['note', 'Đã gọi điện cho công dân'],
    ['closed', 'Bố trí thêm ghế chờ ở bộ phận một cửa'],
  ]);
  // Pressing a button of the closed case's alert changes nothing and says so.
  await official.tap(alert.replyMarkup!.inline_keyboard[0]![0]!.callback_data!, alert.messageId);
  await fake.waitForCall(
    (call) => call.method === 'answerCallbackQuery' && String(call.params.text).startsWith('Phiếu đã đóng'),
    20_000,
  );
});
