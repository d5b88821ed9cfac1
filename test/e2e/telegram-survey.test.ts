import { setTimeout as sleep } from 'node:timers/promises';
import { Answer } from '../../models/answer';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { Session } from '../../models/session';
import { issueSurveyToken } from '../../bot/survey/token';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/until';

const SECRET = 'e2e_secret-TOKEN_123';
let fake: FakeTelegram;
let t: TestApp;

async function dossierWithToken(code: string, ttlHours = 24): Promise<string> {
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    procedureName: 'Chứng thực bản sao từ bản chính',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
    officerId: 'cb-07',
  });
  return (await issueSurveyToken(code, new Date(), ttlHours)).token;
}

/** Waits until chat `id` has received `n` messages in all; returns the last. */
async function nth(id: number, n: number) {
  await fake.waitFor(() => fake.sentTo(id).length >= n, 30_000, `${n} messages to ${id}`);
  return fake.sentTo(id)[n - 1];
}

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('tge2e', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
  });
});

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

describe('Telegram survey end to end (webhook mode, fake Bot API)', () => {
  test('registers its webhook with the secret token on start', () => {
    expect(fake.webhookInfo).toEqual({ url: `${t.baseUrl}/webhooks/telegram`, secret: SECRET });
  });

  test('a citizen completes the survey through a deep link, with the "why?" branch and "Khác"', async () => {
    const code = '000.00.19.H57-251120-0001';
    const token = await dossierWithToken(code);
    const u = fake.user(1001);
    await u.command('/start', token);
    const consent = await nth(1001, 1);
    expect(consent.text).toContain(
      `Xã Quảng Thái trân trọng mời Ông/Bà cho ý kiến về việc giải quyết hồ sơ ${code}.`,
    );
    expect(consent.replyMarkup!.inline_keyboard.flat().map((b) => b.text)).toEqual([
      'Đồng ý',
      'Không đồng ý',
    ]);

    await u.tapLabel('Đồng ý');
    const q1 = await nth(1001, 2);
    expect(q1.text).toMatch(/^Câu 1\/7\nÔng\/Bà hài lòng ở mức nào với việc tiếp cận dịch vụ/);
    // The pressed message loses its buttons; the button press is answered.
    await fake.waitFor(() => fake.callsOf('editMessageReplyMarkup').length >= 1);
    expect(fake.callbackAnswers().length).toBeGreaterThanOrEqual(1);

    await u.tapLabel('Rất không hài lòng');
    const r1 = await nth(1001, 3);
    expect(r1.text).toBe('Câu 1/7\nÔng/Bà chưa hài lòng về điều gì?');
    await u.tapLabel('chờ lâu');
    await fake.waitFor(() =>
      fake
        .lastMessageTo(1001)!
        .replyMarkup!.inline_keyboard.flat()
        .some((b) => b.text.startsWith('☑ Phải chờ lâu')),
    );
    await u.tapLabel('Lý do khác');
    await fake.waitFor(() =>
      fake
        .lastMessageTo(1001)!
        .replyMarkup!.inline_keyboard.flat()
        .some((b) => b.text.startsWith('☑ Lý do khác')),
    );
    await u.tapLabel('Xong');
    const other = await nth(1001, 4);
    expect(other.text).toBe('Câu 1/7\nXin Ông/Bà ghi rõ lý do khác:');
    expect(other.replyMarkup!.inline_keyboard.flat().map((b) => b.text)).toEqual(['Bỏ qua']);
    await u.send('Không có chỗ để xe');
    expect((await nth(1001, 5)).text).toContain('giấy tờ, phí, lệ phí');

    for (const [i, label] of [
      [6, 'Hài lòng'],
      [7, 'Rất hài lòng'],
      [8, 'Bình thường'],
      [9, 'Rất hài lòng'],
    ] as const) {
      await u.tapLabel(label === 'Hài lòng' ? '4. Hài lòng' : label);
      await nth(1001, i);
    }
    expect(fake.lastMessageTo(1001)!.text).toBe(
      'Câu 6/7\nNhìn chung, Ông/Bà hài lòng ở mức nào với việc giải quyết hồ sơ này?',
    );
    await u.tapLabel('4. Hài lòng');
    expect((await nth(1001, 10)).text).toBe(
      'Câu 7/7\nÔng/Bà có góp ý gì thêm để chúng tôi phục vụ tốt hơn không? (không bắt buộc)',
    );
    await u.send('Nên có thêm ghế chờ');
    // A 1 on q1 opens a case: the unit head will see it, and may follow up in this chat.
    expect((await nth(1001, 11)).text).toMatch(
      /^Trân trọng cảm ơn Ông\/Bà đã cho ý kiến\. .*lãnh đạo Xã Quảng Thái.*qua kênh này/,
    );

    const response = await until(
      () => Response.findOne({ dossierCode: code, status: 'completed' }).lean(),
      'completed response',
      15_000,
    );
    expect(response).toMatchObject({
      unitCode: '19870',
      procedureCode: '1.001234',
      officerId: 'cb-07',
      dossierChannel: 'in_person',
      surveyChannel: 'telegram',
      dissatisfied: true,
    });
    // Law 91/2025/QH15: the response carries no identity.
    expect(JSON.stringify(response)).not.toContain('1001');
    const answers = await Answer.find({ responseId: response.responseId }).lean();
    const byQ = Object.fromEntries(answers.map((a) => [a.questionId, a]));
    expect(Object.keys(byQ).sort()).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'r1']);
    expect(byQ.q1).toMatchObject({ element: 'TIEP_CAN', value: 1 });
    expect(byQ.r1).toMatchObject({ element: 'TIEP_CAN', value: ['cho', 'khac'], text: 'Không có chỗ để xe' });
    expect(byQ.q2.value).toBe(4);
    expect(byQ.q5.value).toBe(5);
    expect(byQ.q6).toMatchObject({ element: 'TONG_THE', value: 4 });
    expect(byQ.q7).toMatchObject({ text: 'Nên có thêm ghế chờ' });
    const contact = await Contact.findOne({ channel: 'telegram', channelUserId: '1001' }).lean();
    expect(contact?.consentAt).toBeInstanceOf(Date);
    // Every button press was answered.
    const taps = fake.calls.filter(
      (c) => c.method === 'answerCallbackQuery' && String(c.params.callback_query_id).startsWith('1001'),
    );
    expect(taps.map((c) => c.outcome)).toEqual(Array(10).fill('ok'));
  });

  test('a satisfied citizen who starts plainly goes straight through, and a stale button changes nothing', async () => {
    const u = fake.user(1002);
    await u.command('/start');
    await nth(1002, 1);
    await u.tapLabel('Đồng ý');
    await nth(1002, 2);
    const q1 = fake.lastMessageTo(1002)!;
    const staleData = q1
      .replyMarkup!.inline_keyboard.flat()
      .find((b) => b.text.startsWith('1.'))!.callback_data!;
    for (let i = 3; i <= 8; i++) {
      await u.tapLabel('5. Rất hài lòng');
      await nth(1002, i);
    }
    // A button of q1, pressed again now: "already answered", no new message, no new answer.
    const before = fake.sentTo(1002).length;
    await u.tap(staleData, q1.messageId);
    await fake.waitFor(() =>
      fake.callbackAnswers().some((c) => c.params.text === 'Câu hỏi này đã được trả lời.'),
    );
    await u.send('bỏ qua');
    expect((await nth(1002, before + 1)).text).toBe(
      'Trân trọng cảm ơn Ông/Bà đã dành thời gian cho ý kiến. Ý kiến của Ông/Bà đã được gửi đến Bộ phận Một cửa.',
    );
    // The durable copy of the session is written behind (session.sync job).
    const session = await until(
      () => Session.findOne({ status: 'completed', dossierCode: null }).lean(),
      'completed session in MongoDB',
      15_000,
    );
    const answers = await until(
      async () => {
        const a = await Answer.find({ responseId: session.responseId }).lean();
        return a.length === 6 ? a : null;
      },
      'six answers',
      15_000,
    );
    expect(answers.every((a) => a.value === 5)).toBe(true);
  });

  test('a double tap and a duplicated webhook delivery are applied once', async () => {
    const u = fake.user(1003);
    await u.command('/start');
    const consent = await nth(1003, 1);
    const yes = consent.replyMarkup!.inline_keyboard.flat()[0].callback_data!;
    // Two presses of the same button racing, and the second press delivered twice.
    await Promise.all([u.tap(yes, consent.messageId), u.tap(yes, consent.messageId, { copies: 2 })]);
    await nth(1003, 2);
    await sleep(300);
    expect(fake.sentTo(1003)).toHaveLength(2);
    const acks = fake.callbackAnswers().filter((c) => String(c.params.callback_query_id).startsWith('1003'));
    expect(acks.map((a) => a.params.text ?? '').sort()).toEqual([
      'Câu hỏi này đã được trả lời.',
      'Đã chọn: Đồng ý',
    ]);
    // Webhook deliveries of the duplicated update were answered 200 (Telegram stops retrying).
    expect(fake.webhookDeliveries.every((d) => d.status === 200)).toBe(true);
  });

  test('an answer after the invitation expired gets a polite "đã hết hạn" and ends the survey', async () => {
    const token = await dossierWithToken('000.00.19.H57-251120-0009', 2 / 3600);
    const u = fake.user(1008);
    await u.command('/start', token);
    await nth(1008, 1);
    await sleep(2100);
    await u.tapLabel('Đồng ý');
    expect((await nth(1008, 2)).text).toBe(
      'Rất tiếc, lời mời khảo sát này đã hết hạn. Cảm ơn Ông/Bà đã quan tâm.',
    );
    await u.send('5');
    expect((await nth(1008, 3)).text).toContain('Gõ /start');
    expect(await Response.countDocuments({ dossierCode: '000.00.19.H57-251120-0009' })).toBe(0);
  });

  test('a reply that is not an option gets a re-ask, never silence', async () => {
    const u = fake.user(1004);
    await u.command('/start');
    await nth(1004, 1);
    await u.send('ừm');
    expect((await nth(1004, 2)).text).toContain('Xin vui lòng chọn');
    expect((await nth(1004, 3)).text).toContain('cho ý kiến');
  });

  test('/stop ends the survey and unsubscribes; /help explains; /lang switches to English', async () => {
    const u = fake.user(1005);
    await u.command('/start');
    await nth(1005, 1);
    await u.command('/lang');
    expect((await nth(1005, 2)).text).toBe('Switched to English.');
    expect((await nth(1005, 3)).text).toContain('Do you agree to take part?');
    await u.command('/help');
    expect((await nth(1005, 4)).text).toContain('/stop');
    await u.command('/stop');
    await fake.waitFor(() => fake.sentTo(1005).some((m) => m.text.includes('unsubscribed')));
    const c = await until(
      () => Contact.findOne({ channelUserId: '1005', unsubscribedAt: { $ne: null } }).lean(),
      'unsubscribed contact',
      15_000,
    );
    expect(c.lang).toBe('en');
  });

  test('outbound calls wait out a 429 retry_after and retry a 5xx', async () => {
    fake.failNext('sendMessage', { code: 429, retryAfter: 1 });
    fake.failNext('sendMessage', { code: 502 });
    const u = fake.user(1006);
    const started = Date.now();
    await u.command('/start');
    const m = await nth(1006, 1);
    expect(m.text).toContain('cho ý kiến');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.callsOf('sendMessage').filter((c) => c.outcome === 429 || c.outcome === 502).length).toBe(2);
  });

  test('a citizen who blocked the bot is marked unsubscribed, and the update is not retried forever', async () => {
    fake.block(1007, 'blocked');
    await fake.user(1007).command('/start');
    const c = await until(
      () => Contact.findOne({ channelUserId: '1007', blockedAt: { $ne: null } }).lean(),
      'blocked contact',
      15_000,
    );
    expect(c.unsubscribedAt).toBeInstanceOf(Date);
    expect(
      fake.callsOf('sendMessage').filter((x) => x.params.chat_id === 1007 || x.params.chat_id === '1007'),
    ).toHaveLength(1);
  });

  test('the webhook refuses a wrong or missing secret, malformed JSON and oversized bodies, and stores nothing', async () => {
    const url = `${t.baseUrl}/webhooks/telegram`;
    const update = JSON.stringify({
      update_id: 999_999_001,
      message: { message_id: 1, date: 1, chat: { id: 1099, type: 'private' }, text: '/start' },
    });
    expect(await fake.postRaw(url, update, { 'x-telegram-bot-api-secret-token': 'wrong' })).toBe(401);
    expect(await fake.postRaw(url, update)).toBe(401);
    expect(await fake.postRaw(url, '{"update_id": 5,', { 'x-telegram-bot-api-secret-token': SECRET })).toBe(
      400,
    );
    expect(await fake.postRaw(url, '{"hello": 1}', { 'x-telegram-bot-api-secret-token': SECRET })).toBe(400);
    expect(
      await fake.postRaw(url, JSON.stringify({ update_id: 999_999_002, pad: 'x'.repeat(400_000) }), {
        'x-telegram-bot-api-secret-token': SECRET,
      }),
    ).toBe(413);
    await sleep(200);
    expect(await Contact.countDocuments({ channelUserId: '1099' })).toBe(0);
    expect(fake.sentTo(1099)).toHaveLength(0);
  });

  test('GET /healthz reports Redis and MongoDB', async () => {
    const res = await fetch(`${t.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', redis: 'ok', mongodb: 'ok' });
  });
});
