import { Queue } from 'bullmq';
import { issueSurveyToken } from '../../bot/survey/token';
import { Answer } from '../../models/answer';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { Session } from '../../models/session';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/until';

/**
 * Two chats open the same dossier's link (a family's phones, a shared receipt). The first to
 * finish is the dossier's response; the second is told "Hồ sơ này đã được đánh giá" (at the end
 * if it was answering meanwhile, at the start if it comes later) and nothing of it is counted.
 */
const SECRET = 'shared_link-secret';
const CODE = '000.00.19.H57-251120-0777';
const ALREADY = 'Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà!';
let fake: FakeTelegram;
let t: TestApp;

async function nth(id: number, n: number) {
  await fake.waitFor(() => fake.sentTo(id).length >= n, 20_000, `${n} messages to ${id}`);
  return fake.sentTo(id)[n - 1];
}

/** Answers q1…q6 (the first with `first`, the "why?" question with «Phải chờ lâu»), then q7 with «bỏ qua». */
async function answerAll(id: number, first: '5. Rất hài lòng' | 'Rất không hài lòng'): Promise<void> {
  const u = fake.user(id);
  let n = fake.sentTo(id).length;
  await u.tapLabel(first);
  await nth(id, ++n);
  if (first === 'Rất không hài lòng') {
    await u.tapLabel('Phải chờ lâu');
    await fake.waitFor(() =>
      fake
        .lastMessageTo(id)!
        .replyMarkup!.inline_keyboard.flat()
        .some((b) => b.text.startsWith('☑ Phải chờ lâu')),
    );
    await u.tapLabel('Xong');
    await nth(id, ++n);
  }
  for (let i = 0; i < 5; i++) {
    await u.tapLabel('5. Rất hài lòng');
    await nth(id, ++n);
  }
  expect(fake.lastMessageTo(id)!.text).toContain('Ông/Bà có góp ý gì thêm');
  await u.send('bỏ qua');
  await nth(id, ++n);
}

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('tgshared', {
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

test('two chats on one dossier link: the first to finish is thanked and counted, the second is told it was answered and nothing of it is counted', async () => {
  await Dossier.create({
    code: CODE,
    procedureCode: '1.001234',
    procedureName: 'Chứng thực bản sao từ bản chính',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
    officerId: 'cb-07',
  });
  const { token } = await issueSurveyToken(CODE, new Date(), 24);
  const [a, b] = [fake.user(3001), fake.user(3002)];
  // Both open the link and agree before either finishes.
  for (const [u, id] of [
    [a, 3001],
    [b, 3002],
  ] as const) {
    await u.command('/start', token);
    await nth(id, 1);
    await u.tapLabel('Đồng ý');
    await nth(id, 2);
  }
  await answerAll(3001, '5. Rất hài lòng');
  expect(fake.lastMessageTo(3001)!.text).toBe(
    'Trân trọng cảm ơn Ông/Bà đã dành thời gian cho ý kiến. Ý kiến của Ông/Bà đã được gửi đến Xã Quảng Thái.',
  );
  // The second had started before and gives low ratings: told at the end, nothing recorded.
  await answerAll(3002, 'Rất không hài lòng');
  expect(fake.lastMessageTo(3002)!.text).toBe(ALREADY);
  // A third chat opening the link now is told at the start.
  await fake.user(3003).command('/start', token);
  expect((await nth(3003, 1)).text).toBe(ALREADY);

  await until(
    async () => (await Response.exists({ dossierCode: CODE, status: 'completed' })) !== null,
    'the counted response',
    20_000,
  );
  const response = await Response.findOne({ dossierCode: CODE }).lean();
  const sessions = await until(
    async () => (await Session.countDocuments({ dossierCode: CODE, status: { $ne: 'active' } })) === 2,
    'both sessions copied',
    20_000,
  ).then(() => Session.find({ dossierCode: CODE }).lean());
  const second = sessions.find((s) => s.responseId !== response!.responseId)!;
  expect(second.status).toBe('stopped');
  // Let the queue settle (delayed jobs aside: progress copies of sessions wait 20 s): a
  // completion job of the second would have been added with the turn that finished it.
  const ingest = new Queue('ingest', { connection: t.redis, prefix: t.env.REDIS_PREFIX });
  try {
    await until(
      async () => {
        const c = await ingest.getJobCounts('waiting', 'active', 'prioritized');
        return Object.values(c).every((n) => n === 0);
      },
      'the ingest queue to drain',
      20_000,
    );
    expect(await ingest.getJob(`done-${second.responseId}`)).toBeUndefined();
    expect((await ingest.getJobCounts('failed')).failed).toBe(0);
  } finally {
    await ingest.close();
  }
  expect(await Response.countDocuments({ dossierCode: CODE })).toBe(1);
  expect(await Response.countDocuments({ responseId: second.responseId, status: 'completed' })).toBe(0);
  expect(await Answer.countDocuments({ responseId: second.responseId, day: { $ne: null } })).toBe(0);
  expect(await Case.countDocuments({ responseId: second.responseId })).toBe(0);
  // The second's answers are not kept in its session either.
  expect(second.state).toMatchObject({ answers: {} });
});
