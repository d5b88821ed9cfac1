import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import mongoose from 'mongoose';
import pino from 'pino';
import { Telegram } from 'telegraf';
import { parseEnv } from '../../config/env';
import type { Logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { ZaloToken } from '../../models/zalo-token';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZaloProactiveSender, templateLinkKey } from '../../bot/channels/zalo/proactive';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import {
  telegramInvitationSender,
  zaloInvitationSender,
  znsInvitationSender,
  znsProactiveSender,
} from '../../workers/jobs/invitation-senders';
import { Outreach, invitationJobId, phoneEraseJobId } from '../../workers/jobs/invitation-queue';
import { sendInvitation, type OutreachDeps } from '../../workers/jobs/invitation-send';
import { PhoneInviteClaims } from '../../workers/jobs/invitation-phone-claim';
import { FakeTelegram } from '../fakes/telegram-server';
import { FakeZaloServer } from '../fakes/zalo-server';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';
import { connectedZaloClient } from '../support/zalo';

/**
 * The invitation fallback past Telegram: Zalo OA (consultation message inside the 7-day window)
 * and Zalo ZNS by phone, against the fake Telegram and Zalo servers, the real Redis and
 * MongoDB-compatible server. Also what happens to the phone number: sealed only for ZNS, and
 * gone once the invitation is decided, the survey ends or the token expires.
 */
const redis = testRedis();
const prefix = testPrefix('invzalo');
const SECRETS_KEY = randomBytes(32).toString('hex');
let clock = new Date('2025-03-16T03:00:00Z'); // 10:00 in Huế
let tg: FakeTelegram;
let zalo: FakeZaloServer;
let outreach: Outreach;
let limiter: ZaloRateLimiter;
let senders: OutreachDeps['senders'];
let env: ReturnType<typeof parseEnv>;

// Every log line of the outreach path, to check that no phone number is ever written.
const logLines: string[] = [];
const log = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  }),
) as unknown as Logger;

// Phones of the tests (national form → the "84…" form ZNS receives).
const PHONE_C = '0912 000 003';
const E164_C = '84912000003';
const PHONE_NO_ZALO = '0987000006';
// Zalo user ids (numeric, as Zalo gives them).
const ZU1 = '1000000000000000001';
const ZU2 = '1000000000000000002';
const ZU3 = '1000000000000000003';

async function event(
  code: string,
  applicant: Record<string, unknown>,
  opts: { env?: typeof env; outreach?: Outreach | null } = {},
) {
  const parsed = parseDossierEvent({
    code,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19867',
    channel: 'in_person',
    status: 'finished',
    finishedAt: '2025-03-16T09:00:00+07:00',
    applicant,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const via = opts.outreach === undefined ? outreach : opts.outreach;
  const r = await ingestDossierEvent(parsed.event, {
    env: opts.env ?? env,
    ...(via ? { outreach: via } : {}),
    now: clock,
    rollups: null,
  });
  if (!r.ok || !r.survey) throw new Error('no survey');
  return r.survey;
}

/** Waits until the dossier's invitation is decided (sent or skipped). */
async function decided(code: string) {
  const until = Date.now() + 20_000;
  for (;;) {
    const d = await Dossier.findOne({
      code,
      $or: [{ 'invitation.sentAt': { $ne: null } }, { 'invitation.skipped': { $ne: null } }],
    }).lean();
    const job = await outreach.queue.getJob(invitationJobId(code));
    if (d && (await job?.getState()) === 'completed') return d;
    if (Date.now() > until) throw new Error(`invitation of ${code} not decided: ${job?.failedReason ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The dossier as stored, without mongoose (defaults would hide a missing field). */
async function raw(code: string): Promise<Record<string, unknown>> {
  const doc = await mongoose.connection.db!.collection('dossiers').findOne({ code });
  if (!doc) throw new Error(`no dossier ${code}`);
  return doc as Record<string, unknown>;
}

async function redisDump(): Promise<string> {
  const keys = await redis.keys(`${prefix}*`);
  const parts: string[] = [...keys];
  for (const k of keys) if ((await redis.type(k)) === 'string') parts.push((await redis.get(k)) ?? '');
  return parts.join('\n');
}

const hasPhone = (s: string) => s.includes('912000003') || s.includes('987000006');

function zaloSender(client: ZaloClient): ZaloProactiveSender {
  // No rating template by user id: outside the 7-day window the OA cannot write first.
  return new ZaloProactiveSender({
    client,
    redis,
    prefix,
    log,
    csWindowMs: 7 * 24 * 3600_000,
    ratingTemplateId: undefined,
    templateByUid: false,
    templateMode: 'production',
    templateParams: [],
    quietHours: { start: env.QUIET_HOURS_START, end: env.QUIET_HOURS_END },
    now: () => clock.getTime(),
  });
}

beforeAll(async () => {
  await connectTestDb('invzalo');
  tg = await FakeTelegram.start();
  tg.block('403');
  zalo = await new FakeZaloServer().start();
  env = parseEnv({
    ...process.env,
    PUBLIC_URL: 'https://hailong.example.vn',
    TELEGRAM_BOT_USERNAME: 'HaiLongTestBot',
    INVITE_CHANNEL_ORDER: 'telegram,zalo,zns',
    INVITE_COOLDOWN_DAYS: '7',
    ZALO_APP_ID: zalo.appId,
    ZALO_ZNS_TEMPLATE_ID: 'ZNS-RATING-1',
    ZALO_ZNS_TEMPLATE_PARAMS: 'ma_ho_so=ma,ten_don_vi=donvi,ten_thu_tuc=thutuc',
    SECRETS_KEY,
    REMINDER_MAX: '0',
  });
  const connected = await connectedZaloClient(zalo, redis, prefix, { secretsKey: SECRETS_KEY });
  limiter = connected.limiter;
  const client = connected.client;
  senders = {
    telegram: telegramInvitationSender(new Telegram(tg.token, { apiRoot: tg.apiRoot })),
    zalo: zaloInvitationSender(zaloSender(client), log),
    zns: znsInvitationSender(
      znsProactiveSender({ env, log, redis, prefix }, client, () => clock.getTime()),
      log,
    ),
  };
  outreach = new Outreach({
    ctx: { env, log, redis, prefix },
    senders,
    now: () => clock,
    backoffMs: 100,
  });
  await outreach.startWorker();
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
  const consent = new Date('2025-01-01');
  const recently = new Date(clock.getTime() - 3600_000);
  await Contact.create([
    { channel: 'zalo', channelUserId: ZU1, consentAt: consent, lastInteractionAt: recently },
    { channel: 'telegram', channelUserId: '403', consentAt: consent },
    { channel: 'zalo', channelUserId: ZU2, consentAt: consent, lastInteractionAt: recently },
    {
      channel: 'zalo',
      channelUserId: ZU3,
      consentAt: consent,
      lastInteractionAt: new Date(clock.getTime() - 30 * 86400_000),
    },
  ]);
}, 30_000);

afterAll(async () => {
  await outreach.close();
  await limiter.close();
  await tg.close();
  await zalo.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a citizen reachable on Zalo only gets the invitation there, once', async () => {
  const survey = await event('ZL-0001', { zaloUserId: ZU1 });
  const d = await decided('ZL-0001');
  expect(d.invitation).toMatchObject({ channel: 'zalo', skipped: null });
  const cs = zalo.csTo(ZU1);
  expect(cs).toHaveLength(1);
  expect(cs[0].text).toContain('ZL-0001');
  expect(cs[0].text).toContain('Thị trấn Sịa');
  expect(cs[0].text).toContain(`Bắt đầu đánh giá: ${survey.webLink}`);
  expect(tg.callsOf('sendMessage')).toHaveLength(0);

  // A duplicate delivery of the job sends nothing more (one invitation per dossier).
  const deps = { env, senders: {}, log };
  expect(await sendInvitation({ dossierCode: 'ZL-0001' }, deps, clock)).toBe('already_sent');
  expect(zalo.csTo(ZU1)).toHaveLength(1);
});

test('Telegram blocked (403) falls through to Zalo', async () => {
  await event('ZL-0002', { telegramChatId: '403', zaloUserId: ZU2 });
  const d = await decided('ZL-0002');
  expect(d.invitation).toMatchObject({ channel: 'zalo' });
  expect(tg.callsOf('sendMessage').map((c) => [String(c.params.chat_id), c.outcome])).toEqual([['403', 403]]);
  expect(zalo.csTo(ZU2)).toHaveLength(1);
  expect(zalo.csTo(ZU2)[0].text).toContain('ZL-0002');
  // Only the contact that received it counts for the cooldown.
  expect((await Contact.findOne({ channelUserId: '403' }).lean())?.lastInvitedAt).toBeNull();
  expect((await Contact.findOne({ channelUserId: ZU2 }).lean())?.lastInvitedAt).toEqual(clock);
});

test('outside the Zalo window the next channel, ZNS by phone, sends; then the number is gone', async () => {
  const before = zalo.sent.length;
  await event('ZL-0003', { phone: PHONE_C, zaloUserId: ZU3 });
  const d = await decided('ZL-0003');
  expect(d.invitation).toMatchObject({ channel: 'zns', contactId: null, skipped: null });
  // The OA asked Zalo about the window and sent nothing; the ZNS template went by phone.
  const sent = zalo.sent.slice(before);
  expect(sent.map((s) => s.endpoint)).toEqual(['business_template']);
  expect(sent[0].body).toMatchObject({
    phone: E164_C,
    template_id: 'ZNS-RATING-1',
    template_data: { ma_ho_so: 'ZL-0003', ten_don_vi: 'Thị trấn Sịa', ten_thu_tuc: 'Đăng ký khai sinh' },
    tracking_id: 'ZL-0003',
  });
  // The template's message id finds the dossier when the citizen rates (user_feedback).
  expect(await redis.get(templateLinkKey(prefix, sent[0].messageId))).toBe('ZL-0003');

  const stored = await raw('ZL-0003');
  expect((stored.invitation as Record<string, unknown>).phoneSealed).toBeUndefined();
  expect(hasPhone(JSON.stringify(stored))).toBe(false);
  expect(hasPhone(await redisDump())).toBe(false);
});

test('the cooldown holds per citizen on Zalo and per phone on ZNS', async () => {
  clock = new Date(clock.getTime() + 2 * 86400_000);
  const before = zalo.sent.length;
  await event('ZL-0004', { zaloUserId: ZU1 });
  await event('ZL-0005', { phone: PHONE_C });
  expect((await decided('ZL-0004')).invitation?.skipped).toBe('cooldown');
  expect((await decided('ZL-0005')).invitation?.skipped).toBe('cooldown');
  expect(zalo.sent.length).toBe(before);
  // Skipped: the number kept for ZNS is erased all the same.
  expect((await raw('ZL-0005')).invitation).not.toHaveProperty('phoneSealed');
});

test('a phone without a Zalo account ends with no channel, and its number erased', async () => {
  zalo.phonesWithoutZalo.add('84987000006');
  await event('ZL-0006', { phone: PHONE_NO_ZALO });
  expect((await decided('ZL-0006')).invitation?.skipped).toBe('no_channel');
  expect((await raw('ZL-0006')).invitation).not.toHaveProperty('phoneSealed');
  // Nothing was sent, so the phone is not in a cooldown: the claim was given back.
  expect(hasPhone(await redisDump())).toBe(false);
  expect(await redis.keys(`${prefix}:inv:phone:*`)).toHaveLength(1); // ZL-0003's claim only
});

test('until decided the number is sealed; completing the survey erases it and no invitation follows', async () => {
  // Ingested without the outreach worker: the invitation is still to be decided.
  await event('ZL-0007', { phone: '0912 000 007' }, { outreach: null });
  const sealed = ((await raw('ZL-0007')).invitation as Record<string, unknown>).phoneSealed;
  expect(typeof sealed).toBe('string');
  expect(sealed).toMatch(/^v2\.[0-9a-f]{8}\./);
  expect(hasPhone(String(sealed)) || String(sealed).includes('912000007')).toBe(false);

  const token = (await Dossier.findOne({ code: 'ZL-0007' }).lean())!.survey!.token!;
  expect(token).toBeTruthy();
  await outreach.hooks().onFinished!({
    dossierCode: 'ZL-0007',
    responseId: 'resp-7',
    status: 'completed',
    channel: 'web',
  });
  expect((await raw('ZL-0007')).invitation).not.toHaveProperty('phoneSealed');
  const deps = { env, senders, log, phoneClaims: new PhoneInviteClaims(redis, prefix) };
  const before = zalo.sent.length;
  expect(await sendInvitation({ dossierCode: 'ZL-0007' }, deps, clock)).toBe('completed');
  expect(zalo.sent.length).toBe(before);
});

test('the number is erased when the token expires, by a job due at the expiry', async () => {
  const idlePrefix = testPrefix('invzaloidle');
  const idle = new Outreach({ ctx: { env, log, redis, prefix: idlePrefix }, senders: {} });
  try {
    const survey = await event('ZL-0008', { phone: '0912 000 008' }, { outreach: idle });
    expect(((await raw('ZL-0008')).invitation as Record<string, unknown>).phoneSealed).toBeDefined();
    const job = await idle.queue.getJob(phoneEraseJobId('ZL-0008'));
    expect(job?.opts.delay).toBe(new Date(survey.expiresAt).getTime() - clock.getTime());
    expect(await job?.getState()).toBe('delayed');
    await idle.process(job!); // what the worker does when it comes due
    expect((await raw('ZL-0008')).invitation).not.toHaveProperty('phoneSealed');
  } finally {
    await clearPrefix(redis, idlePrefix);
    await idle.close();
  }
});

test('without ZNS in the channel order the plain number is never stored', async () => {
  const noZns = parseEnv({ ...process.env, INVITE_CHANNEL_ORDER: 'telegram,zalo' });
  await event('ZL-0009', { phone: '0912 000 009' }, { env: noZns, outreach: null });
  const stored = await raw('ZL-0009');
  expect(stored.invitation).not.toHaveProperty('phoneSealed');
  expect(stored.applicantPhoneHash).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(stored)).not.toContain('912000009');
});

test('no log line carries a phone number', () => {
  expect(logLines.length).toBeGreaterThan(0);
  expect(logLines.filter(hasPhone)).toEqual([]);
  expect(logLines.filter((l) => l.includes('912000007') || l.includes('912000008'))).toEqual([]);
});
