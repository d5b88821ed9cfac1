import { Job } from 'bullmq';
import type { ZaloClient } from '../../bot/channels/zalo/client';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Case } from '../../models/case';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import { ZaloToken } from '../../models/zalo-token';
import { setCaseZaloClient } from '../../workers/aggregation/cases/case-jobs';
import { followUpJobId } from '../../workers/aggregation/cases/group-actions';
import { WRITE_BEHIND_GRACE_MS, type FollowUpResult } from '../../workers/aggregation/cases/follow-up';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { FakeTelegram } from '../fakes/telegram-server';
import { FakeZaloServer } from '../fakes/zalo-server';
import { waitForIdle, waitForJob } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';
import { until } from '../support/until';
import { connectedZaloClient } from '../support/zalo';

/**
 * The unit's follow-up to the citizen behind a case (case.follow_up): through the channel of the
 * survey's conversation, never pretending: web chat, /stop, a blocked bot and Zalo's window are
 * reported as such, and recorded in the case log.
 */
const redis = testRedis();
const prefix = testPrefix('casefu');
const producer = new JobProducer(redis, prefix);
let telegram: FakeTelegram;
let zalo: FakeZaloServer;
let zaloClient: ZaloClient;
let limiter: ZaloRateLimiter;
let workers: RunningWorkers;
let n = 0;

/** A closed case whose response was answered on `channel` by a new contact (or no conversation at all). */
async function closedCase(
  channel: 'telegram' | 'zalo' | 'web' | null,
  contact: Record<string, unknown> = {},
  openedAt = new Date(),
) {
  const name = `fu${++n}`;
  const userId = channel === 'zalo' ? `z-${name}` : String(7_000_000 + n);
  const c = channel
    ? await Contact.create({ channel, channelUserId: userId, consentAt: new Date(), ...contact })
    : null;
  if (c)
    await Session.create({
      contactId: c._id,
      channel: c.channel,
      responseId: `r-${name}`,
      flowKey: 'default',
      flowVersion: 1,
      status: 'completed',
      state: {},
      startedAt: new Date(),
    });
  const now = new Date();
  await Case.create({
    caseId: `case-r-${name}`,
    responseId: `r-${name}`,
    dossierCode: `HS-${name}`,
    unitCode: 'C-FU',
    items: [],
    status: 'closed',
    openedAt,
    dueAt: new Date(now.getTime() + 3600_000),
    day: '2026-01-01',
    closedAt: now,
    closedBy: 'canbo.a',
    resolution: 'giai-thich',
    followUpPending: true,
  });
  return { caseId: `case-r-${name}`, dossierCode: `HS-${name}`, userId, contactId: c?._id ?? null };
}

async function run(payload: Record<string, unknown>): Promise<FollowUpResult | null> {
  const jobId = `t-${++n}`;
  await producer.addByName('case.follow_up', { by: 'canbo.a', ...payload }, { jobId });
  expect(await waitForJob(producer.getQueue('outbound'), jobId, 20_000)).toBe('completed');
  return (await Job.fromId(producer.getQueue('outbound'), jobId))!.returnvalue as FollowUpResult | null;
}

const logOf = async (caseId: string) =>
  (await Case.findOne({ caseId }).lean())!.log.map((l) => ({
    action: l.action,
    by: l.by,
    detail: l.detail,
    note: l.note,
  }));

beforeAll(async () => {
  await connectTestDb('casefu');
  telegram = await FakeTelegram.start();
  zalo = await new FakeZaloServer().start();
  ({ client: zaloClient, limiter } = await connectedZaloClient(zalo, redis, prefix));
  setCaseZaloClient(zaloClient);
  await Unit.create({ code: 'C-FU', name: 'Xã Theo', level: 'commune', alertTelegramChatId: '-100555' });
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    TELEGRAM_MAX_RETRIES: '0',
    ZALO_CS_WINDOW_H: '168',
  });
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: testRedis,
    queues: ['ingest', 'aggregate', 'outbound'],
  });
});

afterAll(async () => {
  setCaseZaloClient(null);
  await workers.close();
  await producer.close();
  await limiter.close();
  await telegram.close();
  await zalo.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a Telegram citizen gets the closing message in their language, once, and the asking group is told', async () => {
  const c = await closedCase('telegram', { lang: 'en' });
  expect(await run({ caseId: c.caseId, kind: 'close', reportTo: '-100555' })).toEqual({
    status: 'sent',
    channel: 'telegram',
  });
  const text = `Xã Theo, about your feedback on dossier ${c.dossierCode}: We have reviewed your feedback and explained or guided you again. Thank you for helping us serve you better.`;
  expect(telegram.sentTo(c.userId).map((m) => m.text)).toEqual([text]);
  expect(telegram.sentTo('-100555').map((m) => m.text)).toEqual([
    `✉️ Phiếu ${c.caseId}: đã nhắn công dân qua Telegram. / The citizen was messaged.`,
  ]);
  expect(await logOf(c.caseId)).toEqual([
    { action: 'follow_up_sent', by: 'canbo.a', detail: 'telegram', note: text },
  ]);
  expect(await Case.findOne({ caseId: c.caseId }).lean()).toMatchObject({ followUpPending: false });
  // The closing message goes once: a second job (the sweep, a retried close) sends nothing.
  expect(await run({ caseId: c.caseId, kind: 'close' })).toBeNull();
  expect(telegram.sentTo(c.userId)).toHaveLength(1);
});

test("an official's own message goes with the unit and dossier before it", async () => {
  const c = await closedCase('telegram');
  expect(
    await run({ caseId: c.caseId, kind: 'message', text: 'Mời Ông/Bà đến nhận lại bản chính vào thứ Hai.' }),
  ).toEqual({ status: 'sent', channel: 'telegram' });
  expect(telegram.lastMessageTo(c.userId)!.text).toBe(
    `Xã Theo phản hồi ý kiến của Ông/Bà về hồ sơ ${c.dossierCode}:\nMời Ông/Bà đến nhận lại bản chính vào thứ Hai.`,
  );
});

test('a citizen who blocked the bot is reported and marked blocked through the contact writer', async () => {
  const c = await closedCase('telegram');
  telegram.block(c.userId);
  expect(await run({ caseId: c.caseId, kind: 'close' })).toEqual({ status: 'not_sent', reason: 'blocked' });
  await waitForIdle(producer.getQueue('ingest'), 20_000);
  await until(
    async () => !!(await Contact.findById(c.contactId).lean())?.blockedAt,
    'the contact marked blocked',
  );
  expect((await Contact.findById(c.contactId).lean())!.unsubscribedAt).not.toBeNull();
  expect(await logOf(c.caseId)).toEqual([
    { action: 'follow_up_failed', by: 'canbo.a', detail: 'blocked', note: null },
  ]);
});

test('web chat, /stop and a missing conversation are said, not pretended', async () => {
  const web = await closedCase('web');
  expect(await run({ caseId: web.caseId, kind: 'close', reportTo: '-100555' })).toEqual({
    status: 'not_sent',
    reason: 'web_chat',
  });
  expect(telegram.lastMessageTo('-100555')!.text).toBe(
    `⚠️ Phiếu ${web.caseId}: không nhắn được công dân: công dân góp ý qua web chat, không có kênh để nhắn lại / web-chat citizens cannot be reached.`,
  );
  const stopped = await closedCase('telegram', { unsubscribedAt: new Date() });
  expect(await run({ caseId: stopped.caseId, kind: 'message', text: 'Xin chào' })).toEqual({
    status: 'not_sent',
    reason: 'unsubscribed',
  });
  expect(telegram.sentTo(stopped.userId)).toHaveLength(0);
  // Opened long enough ago for the conversation's copy to have been written: it is gone.
  const none = await closedCase(null, {}, new Date(Date.now() - WRITE_BEHIND_GRACE_MS - 60_000));
  expect(await run({ caseId: none.caseId, kind: 'close' })).toEqual({
    status: 'not_sent',
    reason: 'no_conversation',
  });
  expect(await logOf(none.caseId)).toEqual([
    { action: 'follow_up_failed', by: 'canbo.a', detail: 'no_conversation', note: null },
  ]);
});

test('a case closed minutes after it opened, before its conversation’s copy is written: the job retries until it is, and the citizen is told once', async () => {
  const c = await closedCase('telegram');
  const session = (await Session.findOne({ responseId: c.caseId.replace(/^case-/, '') }).lean())!;
  // The ingest queue has not written the conversation yet (session.sync lags under load).
  await Session.deleteOne({ _id: session._id });
  const jobId = `t-${++n}`;
  await producer.addByName(
    'case.follow_up',
    { by: 'canbo.a', caseId: c.caseId, kind: 'close' },
    { jobId, backoff: { type: 'fixed', delay: 300 } },
  );
  const queue = producer.getQueue('outbound');
  await until(async () => ((await Job.fromId(queue, jobId))?.attemptsMade ?? 0) >= 2, 'two attempts');
  expect(telegram.sentTo(c.userId)).toHaveLength(0);
  expect(await logOf(c.caseId)).toEqual([]);
  // The copy lands; the next attempt finds it.
  await Session.create({ ...session });
  expect(await waitForJob(queue, jobId, 20_000)).toBe('completed');
  expect((await Job.fromId(queue, jobId))!.returnvalue).toEqual({ status: 'sent', channel: 'telegram' });
  expect(telegram.sentTo(c.userId)).toHaveLength(1);
  expect((await logOf(c.caseId)).map((l) => [l.action, l.detail])).toEqual([['follow_up_sent', 'telegram']]);
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.followUpPending).toBe(false);
});

test('Zalo: a consultation message inside the window; outside it, nothing is sent and the official is told', async () => {
  const recent = await closedCase('zalo', { lastInteractionAt: new Date(Date.now() - 3600_000) });
  expect(await run({ caseId: recent.caseId, kind: 'close' })).toEqual({ status: 'sent', channel: 'zalo' });
  expect(zalo.csTo(recent.userId).map((m) => m.text)).toEqual([
    `Xã Theo phản hồi ý kiến của Ông/Bà về hồ sơ ${recent.dossierCode}: Chúng tôi đã rà soát và giải thích, hướng dẫn lại nội dung Ông/Bà phản ánh. Cảm ơn Ông/Bà đã góp ý để chúng tôi phục vụ tốt hơn.`,
  ]);
  const old = await closedCase('zalo', { lastInteractionAt: new Date(Date.now() - 8 * 24 * 3600_000) });
  expect(await run({ caseId: old.caseId, kind: 'close' })).toEqual({
    status: 'not_sent',
    reason: 'outside_zalo_window',
  });
  expect(zalo.csTo(old.userId)).toHaveLength(0);
  // Zalo itself says the window is closed (-230): the same answer.
  const stale = await closedCase('zalo', { lastInteractionAt: new Date(Date.now() - 3600_000) });
  zalo.failNext('cs', -230);
  expect(await run({ caseId: stale.caseId, kind: 'close' })).toEqual({
    status: 'not_sent',
    reason: 'outside_zalo_window',
  });
  // -213: no longer following the OA: unsubscribed, and marked so.
  const gone = await closedCase('zalo', { lastInteractionAt: new Date(Date.now() - 3600_000) });
  zalo.failNext('cs', -213);
  expect(await run({ caseId: gone.caseId, kind: 'close' })).toEqual({
    status: 'not_sent',
    reason: 'unsubscribed',
  });
  await until(
    async () => !!(await Contact.findById(gone.contactId).lean())?.unsubscribedAt,
    'the Zalo contact marked unsubscribed',
  );
});

test('a closing follow-up whose caller died before queueing it is queued by the periodic sweep', async () => {
  const c = await closedCase('telegram');
  await Case.updateOne({ caseId: c.caseId }, { $set: { closedAt: new Date(Date.now() - 5 * 60_000) } });
  await producer.add('case.escalate', {}, { jobId: `sweep-${n}` });
  await until(() => telegram.sentTo(c.userId).length === 1, 'the swept follow-up', 20_000);
  // Recorded just after the send.
  await until(
    async () => (await Case.findOne({ caseId: c.caseId }).lean())!.followUpPending === false,
    'the follow-up recorded',
  );
  expect(telegram.sentTo(c.userId)).toHaveLength(1);
});

test('a closing follow-up whose job failed every attempt is retried by the periodic sweep, and sent once', async () => {
  const c = await closedCase('telegram');
  await Case.updateOne({ caseId: c.caseId }, { $set: { closedAt: new Date(Date.now() - 5 * 60_000) } });
  const queue = producer.getQueue('outbound');
  // The platform down for longer than the attempts last: here, one attempt against a 502.
  telegram.failNext('sendMessage', { code: 502 });
  const id = followUpJobId(c.caseId);
  await queue.add(
    'case.follow_up',
    { caseId: c.caseId, by: 'canbo.a', kind: 'close' },
    { jobId: id, attempts: 1 },
  );
  expect(await waitForJob(queue, id, 20_000)).toBe('failed');
  expect(telegram.sentTo(c.userId)).toHaveLength(0);
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.followUpPending).toBe(true);

  await producer.add('case.escalate', {}, { jobId: `sweep-${++n}` });
  await until(() => telegram.sentTo(c.userId).length === 1, 'the retried follow-up', 20_000);
  expect(await waitForJob(queue, id, 20_000)).toBe('completed');
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.followUpPending).toBe(false);
  // The next sweep finds nothing pending: nothing is sent twice.
  await producer.add('case.escalate', {}, { jobId: `sweep-${++n}` });
  await waitForJob(producer.getQueue('aggregate'), `sweep-${n}`, 20_000);
  expect(telegram.sentTo(c.userId)).toHaveLength(1);
});

test('a follow-up outlasts an outage of more attempts than ten (the old limit), and the default backoff is wired', async () => {
  const queue = producer.getQueue('outbound');
  // Twelve failures in a row, a few milliseconds apart (the test's own backoff).
  const long = await closedCase('telegram');
  telegram.failNext('sendMessage', { code: 502 }, 12);
  const id = `t-${++n}`;
  await producer.addByName(
    'case.follow_up',
    { by: 'canbo.a', caseId: long.caseId, kind: 'close' },
    { jobId: id, backoff: { type: 'fixed', delay: 20 } },
  );
  expect(await waitForJob(queue, id, 20_000)).toBe('completed');
  expect((await Job.fromId(queue, id))!.attemptsMade).toBe(13);
  expect(telegram.sentTo(long.userId)).toHaveLength(1);
  // With the queue's own backoff (capped exponential, a Worker setting): one failure, retried after 1 s.
  const short = await closedCase('telegram');
  telegram.failNext('sendMessage', { code: 502 });
  const id2 = `t-${++n}`;
  await producer.addByName(
    'case.follow_up',
    { by: 'canbo.a', caseId: short.caseId, kind: 'close' },
    { jobId: id2 },
  );
  expect(await waitForJob(queue, id2, 20_000)).toBe('completed');
  expect((await Job.fromId(queue, id2))!.attemptsMade).toBe(2);
  expect(telegram.sentTo(short.userId)).toHaveLength(1);
});

test('a bad payload is refused where it is made and queues nothing', async () => {
  await expect(
    producer.add('case.follow_up', { caseId: 'case-x', by: 'a', kind: 'message', text: '   ' }),
  ).rejects.toThrow('invalid payload');
  await expect(
    producer.add('case.follow_up', { caseId: 'case-x', by: 'a', kind: 'message', text: 'x'.repeat(1001) }),
  ).rejects.toThrow('invalid payload');
});
