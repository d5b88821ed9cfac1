import { Telegram } from 'telegraf';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { telegramInvitationSender } from '../../workers/jobs/invitation-senders';
import { Outreach, invitationJobId } from '../../workers/jobs/invitation-queue';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { FakeTelegram } from '../fakes/telegram-server';
import { testEnv } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

let fake: FakeTelegram;
const redis = testRedis();
const prefix = testPrefix('invtg');
let outreach: Outreach;
let producer: JobProducer;
let ingest: RunningWorkers;
let clock = new Date('2025-03-16T03:00:00Z'); // 10:00 in Huế
const env = parseEnv({
  ...process.env,
  TELEGRAM_BOT_USERNAME: 'HaiLongTestBot',
  PUBLIC_URL: 'https://hailong.example.vn',
  INVITE_COOLDOWN_DAYS: '7',
});

async function event(code: string, applicant: Record<string, unknown>) {
  const parsed = parseDossierEvent({
    code,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19867',
    channel: 'in_person',
    status: 'finished',
    finishedAt: '2025-03-16T10:00:00+07:00',
    applicant,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return ingestDossierEvent(parsed.event, { env, outreach, now: clock, rollups: null });
}

async function waitFor<T>(fn: () => Promise<T | null | undefined>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await connectTestDb('invtg');
  fake = await FakeTelegram.start();
  fake.block('403'); // this chat has blocked the bot: 403 Forbidden
  const telegram = new Telegram(fake.token, { apiRoot: fake.apiRoot });
  outreach = new Outreach({
    ctx: { env, log: logger, redis, prefix },
    senders: { telegram: telegramInvitationSender(telegram) },
    now: () => clock,
    backoffMs: 100,
  });
  await outreach.startWorker();
  // The ingest workers apply contact changes (a contact found blocked).
  producer = new JobProducer(redis, prefix);
  ingest = await startWorkers({
    ctx: { env: testEnv(prefix), log: logger, redis, prefix },
    producer,
    createConnection: testRedis,
    queues: ['ingest'],
  });
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
  await Contact.create([
    { channel: 'telegram', channelUserId: '777001', consentAt: new Date('2025-01-01'), phoneHash: null },
    { channel: 'telegram', channelUserId: '777002', consentAt: null },
    { channel: 'telegram', channelUserId: '403', consentAt: new Date('2025-01-01') },
  ]);
});

afterAll(async () => {
  await ingest?.close();
  await producer?.close();
  await outreach.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await fake.close();
  await dropTestDb();
});

test('a known citizen with consent receives the invitation on Telegram, once', async () => {
  const r = await event('INV-0001', { phone: '0912345678', telegramChatId: '777001' });
  expect(r.ok && r.survey?.token).toBeTruthy();
  const token = r.ok ? r.survey!.token : '';
  const d = await waitFor(
    async () =>
      (await Dossier.findOne({ code: 'INV-0001', 'invitation.sentAt': { $ne: null } }).lean()) ?? null,
  );
  expect(d.invitation?.channel).toBe('telegram');
  const msgs = fake.sentTo('777001');
  expect(msgs).toHaveLength(1);
  expect(msgs[0].text).toContain('INV-0001');
  expect(msgs[0].text).toContain('Thị trấn Sịa');
  expect(msgs[0].replyMarkup?.inline_keyboard[0]?.[0]).toEqual({
    text: 'Bắt đầu đánh giá',
    url: `https://t.me/HaiLongTestBot?start=${token}`,
  });

  // The same event again: same job id, and the handler's own check: nothing more is sent.
  await event('INV-0001', { phone: '0912345678', telegramChatId: '777001' });
  await waitFor(async () => {
    const state = await (await outreach.queue.getJob(invitationJobId('INV-0001')))?.getState();
    return state === 'completed' || state === undefined;
  });
  expect(fake.sentTo('777001')).toHaveLength(1);
});

test('a second dossier of the same citizen within the cooldown sends nothing', async () => {
  clock = new Date(clock.getTime() + 2 * 86400_000);
  await event('INV-0002', { phone: '0912345678' }); // found by phone hash, linked earlier
  const d = await waitFor(
    async () =>
      (await Dossier.findOne({ code: 'INV-0002', 'invitation.skipped': { $ne: null } }).lean()) ?? null,
  );
  expect(d.invitation?.skipped).toBe('cooldown');
  expect(fake.sentTo('777001')).toHaveLength(1);
});

test('no consent on record, or a blocked chat, means no proactive invitation', async () => {
  await event('INV-0003', { telegramChatId: '777002' });
  await event('INV-0004', { telegramChatId: '403' });
  const a = await waitFor(
    async () =>
      (await Dossier.findOne({ code: 'INV-0003', 'invitation.skipped': { $ne: null } }).lean()) ?? null,
  );
  const b = await waitFor(
    async () =>
      (await Dossier.findOne({ code: 'INV-0004', 'invitation.skipped': { $ne: null } }).lean()) ?? null,
  );
  expect(a.invitation?.skipped).toBe('no_channel');
  expect(b.invitation?.skipped).toBe('no_channel');
  expect(fake.sentTo('777002')).toHaveLength(0);
  expect(fake.sentTo('403')).toHaveLength(0);
  // The blocked chat was tried and refused; the one without consent was never tried.
  const tried = fake.callsOf('sendMessage').map((c) => [String(c.params.chat_id), c.outcome]);
  expect(tried).toContainEqual(['403', 403]);
  expect(tried.filter(([chat]) => chat === '777002')).toHaveLength(0);
  // A refused send does not count against the cooldown: the contact was not invited.
  expect((await Contact.findOne({ channelUserId: '403' }).lean())?.lastInvitedAt).toBeNull();
  // The 403 marks the contact blocked and unsubscribed, so nothing proactive tries it again.
  const marked = await waitFor(
    async () => (await Contact.findOne({ channelUserId: '403', blockedAt: { $ne: null } }).lean()) ?? null,
  );
  expect(marked.unsubscribedAt).not.toBeNull();
  await event('INV-0403', { telegramChatId: '403' });
  await waitFor(
    async () =>
      (await Dossier.findOne({ code: 'INV-0403', 'invitation.skipped': 'no_channel' }).lean()) ?? null,
  );
  expect(fake.callsOf('sendMessage').filter((c) => String(c.params.chat_id) === '403')).toHaveLength(1);
});

test('an invitation due in quiet hours waits for the morning', async () => {
  clock = new Date('2025-03-20T15:30:00Z'); // 22:30 in Huế
  await Contact.create({ channel: 'telegram', channelUserId: '777005', consentAt: new Date('2025-01-01') });
  await event('INV-0005', { telegramChatId: '777005' });
  const job = await outreach.queue.getJob(invitationJobId('INV-0005'));
  // 22:30 → 07:00 next day: 8.5 hours.
  expect(job?.opts.delay).toBe(8.5 * 3600_000);
  expect(await job?.getState()).toBe('delayed');
});
