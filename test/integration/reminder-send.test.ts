import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { sendReminder } from '../../workers/jobs/reminder-send';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/** A minimal fake Bot API on 127.0.0.1 (sendMessage only). */
function fakeTelegram() {
  const sent: Array<{ chat_id: string; text: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const p = JSON.parse(body || '{}') as { chat_id: string; text: string };
      sent.push({ chat_id: String(p.chat_id), text: p.text });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          ok: true,
          result: {
            message_id: sent.length,
            date: 0,
            chat: { id: Number(p.chat_id), type: 'private' },
            text: p.text,
          },
        }),
      );
    });
  });
  return { sent, server };
}

const fake = fakeTelegram();
const redis = testRedis();
const prefix = testPrefix('reminders');
let outreach: Outreach;
const clock = new Date('2025-03-16T03:00:00Z'); // 10:00 in Huế
// Hours as fractions: 0.0002 h = 0.72 s, 0.0006 h = 2.16 s, so reminders fire within the test; quiet hours off.
const env = parseEnv({
  ...process.env,
  TELEGRAM_BOT_USERNAME: 'HaiLongTestBot',
  INVITE_COOLDOWN_DAYS: '0',
  REMINDER_DELAYS_HOURS: '0.0002,0.0006,0.0007',
  REMINDER_MAX: '2',
  QUIET_HOURS_START: '00:00',
  QUIET_HOURS_END: '00:00',
  SURVEY_TOKEN_TTL_HOURS: '1',
});

async function finished(code: string, chatId: string) {
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
  const r = await ingestDossierEvent(parsed.event, { env, outreach, now: clock });
  if (!r.ok || !r.survey) throw new Error('no survey');
  return r.survey.token;
}

const to = (chat: string) => fake.sent.filter((m) => m.chat_id === chat);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitForCount(chat: string, n: number, ms = 6000): Promise<void> {
  const until = Date.now() + ms;
  while (to(chat).length < n) {
    if (Date.now() > until) throw new Error(`expected ${n} messages to ${chat}, got ${to(chat).length}`);
    await sleep(25);
  }
}

beforeAll(async () => {
  await connectTestDb('reminders');
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  const telegram = new Telegram('123456:TEST-TOKEN-abcdefghijklmnopqrstuv', {
    apiRoot: `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`,
  });
  outreach = new Outreach({
    ctx: { env, log: logger, redis, prefix },
    senders: { telegram: telegramInvitationSender(telegram) },
    now: () => clock,
    backoffMs: 100,
  });
  outreach.startWorker();
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
});

afterAll(async () => {
  await outreach.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  fake.server.close();
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
  await sleep(800); // past the third delay: REMINDER_MAX is 2
  expect(to('880001')).toHaveLength(3);
  expect((await Dossier.findOne({ code: 'REM-0001' }).lean())?.invitation?.remindersSent).toBe(2);
  expect(await outreach.queue.getJob(reminderJobId('REM-0001', 3))).toBeUndefined();
});

test('completing the survey cancels the reminders, and one that fires anyway does nothing', async () => {
  await finished('REM-0002', '880002');
  expect(await (await outreach.queue.getJob(reminderJobId('REM-0002', 1)))?.getState()).toBe('delayed');
  await waitForCount('880002', 1);
  await outreach.hooks().onStarted!({ dossierCode: 'REM-0002', responseId: 'resp-2', channel: 'telegram' });
  await outreach.hooks().onFinished!({
    dossierCode: 'REM-0002',
    responseId: 'resp-2',
    status: 'completed',
    channel: 'telegram',
  });
  expect(await outreach.queue.getJob(reminderJobId('REM-0002', 1))).toBeUndefined();
  expect(await outreach.queue.getJob(reminderJobId('REM-0002', 2))).toBeUndefined();
  await sleep(2500); // past both delays
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
  await outreach.hooks().onFinished!({
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
