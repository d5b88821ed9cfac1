import { Telegram } from 'telegraf';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { InvitationStat } from '../../models/invitation';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { markStage } from '../../bot/survey/funnel';
import { resolveSurveyToken } from '../../bot/survey/token';
import { telegramInvitationSender } from '../../workers/jobs/invitation-senders';
import { Outreach, reminderJobId } from '../../workers/jobs/invitation-queue';
import { legacyReminderJobId } from '../../workers/jobs/outreach-ids';
import { sendReminder } from '../../workers/jobs/reminder-send';
import { FakeTelegram } from '../fakes/telegram-server';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

let fake: FakeTelegram;
const redis = testRedis();
const prefix = testPrefix('reminders');
let outreach: Outreach;
/** Its own queues, reminders 15 and 30 min away: completion always comes before they are due. */
let slowOutreach: Outreach;
const slowPrefix = testPrefix('reminders-slow');
const clock = new Date('2025-03-16T03:00:00Z'); // 10:00 in Huế
// Hours as fractions: 0.0002 h = 0.72 s, 0.0015 h = 5.4 s, so reminders fire within the test and
// the test has seconds (not milliseconds) to act between them; quiet hours off.
const env = parseEnv({
  ...process.env,
  TELEGRAM_BOT_USERNAME: 'HaiLongTestBot',
  INVITE_COOLDOWN_DAYS: '0',
  REMINDER_DELAYS_HOURS: '0.0002,0.0015,0.0016',
  REMINDER_MAX: '2',
  QUIET_HOURS_START: '00:00',
  QUIET_HOURS_END: '00:00',
  SURVEY_TOKEN_TTL_HOURS: '1',
});

async function finished(code: string, chatId: string, via: Outreach = outreach) {
  await Contact.updateOne(
    { channel: 'telegram', channelUserId: chatId },
    { $setOnInsert: { consentAt: new Date('2025-01-01') } },
    { upsert: true },
  );
  const parsed = parseDossierEvent({
    code,
    procedureCode: '1.001234',
    unitCode: '19867',
    channel: 'post',
    status: 'finished',
    finishedAt: '2025-03-16T10:00:00+07:00',
    applicant: { telegramChatId: chatId },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const r = await ingestDossierEvent(parsed.event, { env, outreach: via, now: clock, rollups: null });
  if (!r.ok || !r.survey) throw new Error('no survey');
  return r.survey.token;
}

const to = (chat: string) => fake.sentTo(chat);
const waitForCount = (chat: string, n: number) =>
  fake.waitFor(() => to(chat).length >= n, 20_000, `${n} messages to ${chat}`);
async function waitForState(q: Outreach, jobId: string, state: string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    const job = await q.queue.getJob(jobId);
    if ((await job?.getState()) === state) return;
    if (Date.now() > until) throw new Error(`job ${jobId} not ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await connectTestDb('reminders');
  fake = await FakeTelegram.start();
  const telegram = new Telegram(fake.token, { apiRoot: fake.apiRoot });
  outreach = new Outreach({
    ctx: { env, log: logger, redis, prefix },
    senders: { telegram: telegramInvitationSender(telegram) },
    now: () => clock,
    backoffMs: 100,
  });
  await outreach.startWorker();
  slowOutreach = new Outreach({
    ctx: { env: { ...env, REMINDER_DELAYS_HOURS: [0.25, 0.5] }, log: logger, redis, prefix: slowPrefix },
    senders: { telegram: telegramInvitationSender(telegram) },
    now: () => clock,
    backoffMs: 100,
  });
  await slowOutreach.startWorker();
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
});

afterAll(async () => {
  await outreach.close();
  await slowOutreach.close();
  await clearPrefix(redis, prefix);
  await clearPrefix(redis, slowPrefix);
  redis.disconnect();
  await fake.close();
  await dropTestDb();
});

test('reminders fire after the delays, at most REMINDER_MAX, worded by progress', async () => {
  await finished('REM-0001', '880001');
  await waitForCount('880001', 2); // invitation, then reminder 1 ("not started" wording)
  expect(to('880001')[1].text).toContain('Nhắc nhẹ');
  // The citizen started but did not finish: reminder 2 says "continue".
  await markStage('REM-0001', 'started', clock);
  await waitForCount('880001', 3);
  expect(to('880001')[2].text).toContain('còn dang dở');
  // REMINDER_MAX is 2: the third delay was never scheduled, and every scheduled job has run.
  await waitForState(outreach, reminderJobId('REM-0001', 2), 'completed');
  expect(to('880001')).toHaveLength(3);
  expect((await Dossier.findOne({ code: 'REM-0001' }).lean())?.invitation?.remindersSent).toBe(2);
  expect(await outreach.queue.getJob(reminderJobId('REM-0001', 3))).toBeUndefined();
});

test('completing the survey cancels the reminders, and one that fires anyway does nothing', async () => {
  await finished('REM-0002', '880002', slowOutreach);
  expect(reminderJobId('REM-0002', 1)).toBe('rem-REM-0002-1');
  expect(await (await slowOutreach.queue.getJob(reminderJobId('REM-0002', 1)))?.getState()).toBe('delayed');
  // A reminder an older release scheduled under its old id (rem:<dossier>:<n>) goes too.
  await slowOutreach.queue.add(
    'reminder.send',
    { dossierCode: 'REM-0002', n: 2 },
    { jobId: legacyReminderJobId('REM-0002', 2), delay: 3600_000 },
  );
  await waitForCount('880002', 1);
  await slowOutreach.hooks().onStarted!({
    dossierCode: 'REM-0002',
    responseId: 'resp-2',
    channel: 'telegram',
  });
  await slowOutreach.hooks().onFinished!({
    dossierCode: 'REM-0002',
    responseId: 'resp-2',
    status: 'completed',
    channel: 'telegram',
  });
  expect(await slowOutreach.queue.getJob(reminderJobId('REM-0002', 1))).toBeUndefined();
  expect(await slowOutreach.queue.getJob(reminderJobId('REM-0002', 2))).toBeUndefined();
  expect(await slowOutreach.queue.getJob(legacyReminderJobId('REM-0002', 2))).toBeUndefined();
  expect(await slowOutreach.queue.getDelayedCount()).toBe(0);
  expect(to('880002')).toHaveLength(1);
  const deps = {
    env,
    senders: {
      telegram: telegramInvitationSender({ sendMessage: () => Promise.reject(new Error('must not send')) }),
    },
    log: logger,
  };
  expect(await sendReminder({ dossierCode: 'REM-0002', n: 1 }, deps, clock)).toBe('completed');

  const d = await Dossier.findOne({ code: 'REM-0002' }).lean();
  expect(d?.survey?.responseId).toBe('resp-2');
  // Funnel counts: every stage once, even when a hook is delivered twice.
  await slowOutreach.hooks().onFinished!({
    dossierCode: 'REM-0002',
    responseId: 'resp-2',
    status: 'completed',
    channel: 'telegram',
  });
  const stats = await InvitationStat.find({ unitCode: '19867' }).lean();
  const sum = (k: 'invited' | 'opened' | 'started' | 'completed') => stats.reduce((n, s) => n + s[k], 0);
  expect([sum('invited'), sum('opened'), sum('started'), sum('completed')]).toEqual([2, 2, 2, 1]);
});

test('a survey token is refused once expired, and once answered', async () => {
  const token = await finished('REM-0003', '880003');
  expect((await resolveSurveyToken(token, clock)).ok).toBe(true);
  expect(await resolveSurveyToken(token, new Date(clock.getTime() + 3600_000))).toEqual({
    ok: false,
    reason: 'expired',
  });
  expect(await resolveSurveyToken('not-a-token-at-all-xxxxxxxx', clock)).toEqual({
    ok: false,
    reason: 'unknown',
  });
  const answered = (await Dossier.findOne({ code: 'REM-0002' }).lean())!.survey!.token!;
  expect(await resolveSurveyToken(answered, clock)).toEqual({ ok: false, reason: 'used' });
});
