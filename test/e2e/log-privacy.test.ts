import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { isZaloEventDone } from '../../bot/channels/zalo/inbound-queue';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { issueSurveyToken } from '../../bot/survey/token';
import { createApiKey } from '../../lib/api-auth';
import { Accounts } from '../../lib/auth/accounts';
import { SessionStore } from '../../lib/auth/sessions';
import { logger } from '../../lib/logger';
import { parseSecretsKey } from '../../lib/secret-box';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { FakeTelegram } from '../fakes/telegram-server';
import { FakeZaloServer } from '../fakes/zalo-server';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { freePort, uriWithDb } from '../support/app';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';
import { until } from '../support/until';

/**
 * Issue 21 ("Observability"): no personal data in any process's log. Two processes of the app
 * (http+bot, workers) log at debug level while citizens answer a survey on Telegram and on Zalo
 * (names, free text, a phone number typed as a suggestion, Zalo's shared name and phone), a
 * one-stop system posts dossier events (applicant phone, and fields it should not send), an
 * admin sends a broadcast, and bad input arrives. Then every line both processes wrote is
 * searched for each of those values.
 */

const SECRETS_KEY = Buffer.alloc(32, 5).toString('base64');
const WEBHOOK_SECRET = 'logpriv_secret-TOKEN_9';
const TG_CITIZEN = 8001;
const ZALO_CITIZEN = '5566778899001122334';

/** Everything personal the test gives the app; none of it may reach a log. */
const PERSONAL = {
  names: ['Hoàng Thị Quỳnh Như', 'Lê Văn Kín Đáo', 'Trịnh Thị Zalo Ẩn', 'Phạm Bí Mật'],
  texts: [
    'Không có chỗ để xe gần bộ phận một cửa Mỹ Lệ',
    'Nên có thêm ghế chờ cho người già ở Mỹ Lệ',
    'Cán bộ tiếp nhận Zalo rất nhiệt tình Quảng Thái',
  ],
  phones: ['0987 654 321', '0912 345 678', '0903 112 233', '0938 777 666'],
};

/** The national number's digits with any separators people or formats put between them. */
function phonePattern(phone: string): RegExp {
  const digits = phone.replace(/\D/g, '').replace(/^(84|0)/, '');
  return new RegExp(`(?:\\+?84|0)?[\\s.()-]*${digits.split('').join('[\\s.()-]*')}`);
}

/** Every personal value found in `log` (names and texts in composed and decomposed Unicode). */
export function personalDataIn(log: string, personal: typeof PERSONAL): string[] {
  const found: string[] = [];
  const haystacks = [log.normalize('NFC').toLowerCase(), log.normalize('NFD').toLowerCase()];
  for (const v of [...personal.names, ...personal.texts]) {
    const needles = [v.normalize('NFC').toLowerCase(), v.normalize('NFD').toLowerCase()];
    // A distinctive part is enough: a truncated or split value leaks too.
    if (haystacks.some((h) => needles.some((n) => h.includes(n) || h.includes(n.slice(0, 20)))))
      found.push(v);
  }
  for (const p of personal.phones) if (phonePattern(p).test(log)) found.push(p);
  return found;
}

let tg: FakeTelegram;
let zaloFake: FakeZaloServer;
let redis: Redis;
let prefix: string;
let baseUrl: string;
const children: Array<{ name: string; proc: ChildProcess; log: string[] }> = [];

function startChild(name: string, env: Record<string, string>): Promise<number | null> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/app-child.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log: string[] = [];
  proc.stdout!.on('data', (b: Buffer) => log.push(b.toString('utf8')));
  proc.stderr!.on('data', (b: Buffer) => log.push(b.toString('utf8')));
  children.push({ name, proc, log });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) =>
      reject(new Error(`${name} exited early (${code}): ${log.join('').slice(-2000)}`)),
    );
    proc.on('message', (m: { port?: number | null }) => resolve(m.port ?? null));
  });
}

async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(
      ({ proc }) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null) return resolve();
          proc.removeAllListeners('exit');
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        }),
    ),
  );
}

async function dossierWithToken(code: string): Promise<string> {
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
  return (await issueSurveyToken(code, new Date(), 24)).token;
}

const nth = async (chat: number, n: number) => {
  await tg.waitFor(() => tg.sentTo(chat).length >= n, 30_000, `${n} messages to ${chat}`);
  return tg.sentTo(chat)[n - 1]!;
};

beforeAll(async () => {
  tg = await FakeTelegram.start();
  zaloFake = await new FakeZaloServer().start();
  redis = testRedis();
  prefix = testPrefix('logpriv');
  const dbName = uniqueName('logpriv');
  await mongoose.connect(uriWithDb(dbName), { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: '19870', name: 'Xã Quảng Thái', level: 'commune', parentCode: '477' });
  await new Accounts(new SessionStore(redis, prefix, { idleMs: 600_000, maxMs: 3_600_000 })).create(
    { username: 'logpriv-admin', password: GOOD_PASSWORD, role: 'admin' },
    { actor: 'test' },
  );
  // As `hailong zalo connect` leaves it: the OA's token pair, encrypted, in the app's database.
  await new ZaloTokenStore({
    appId: zaloFake.appId,
    secretsKey: parseSecretsKey(SECRETS_KEY),
    redis,
    prefix,
    oauth: new ZaloOAuthClient({
      oauthRoot: zaloFake.url,
      appId: zaloFake.appId,
      appSecret: zaloFake.appSecret,
    }),
    log: logger,
    refreshAheadMs: 0,
  }).save(zaloFake.issuePair());

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PUBLIC_URL: baseUrl,
    SECRETS_KEY,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
    ZALO_APP_ID: zaloFake.appId,
    ZALO_APP_SECRET: zaloFake.appSecret,
    ZALO_OA_SECRET_KEY: zaloFake.oaSecretKey,
    ZALO_API_ROOT: zaloFake.url,
    ZALO_OAUTH_ROOT: zaloFake.url,
    ZALO_BUSINESS_API_ROOT: zaloFake.url,
    // No quiet hours: invitations and the broadcast go out whatever the hour of the run.
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
    MONGO_BUILD_INDEXES: 'false',
  };
  await Promise.all([
    startChild('http+bot', { ...env, ROLES: 'http,bot', PORT: String(port), HOST: '127.0.0.1' }),
    startChild('workers', { ...env, ROLES: 'workers', PORT: '0' }),
  ]);
}, 180_000);

afterAll(async () => {
  await stopChildren();
  await mongoose.connection.dropDatabase().catch(() => undefined);
  await mongoose.disconnect();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await tg?.close();
  await zaloFake?.close();
});

test('the search finds a planted line of personal data (so it can fail)', () => {
  const clean = '{"level":30,"pid":1,"update":123,"chatKey":"8001","msg":"update applied"}';
  expect(personalDataIn(clean, PERSONAL)).toEqual([]);
  expect(personalDataIn(`${clean}\n{"msg":"x","phone":"+84 912-345-678"}`, PERSONAL)).toEqual([
    '0912 345 678',
  ]);
  expect(personalDataIn(`{"msg":"x","who":"${PERSONAL.names[0]!.normalize('NFD')}"}`, PERSONAL)).toEqual([
    PERSONAL.names[0],
  ]);
  expect(personalDataIn(`{"err":"bad value: ${PERSONAL.texts[1]!.slice(0, 25)}…"}`, PERSONAL)).toEqual([
    PERSONAL.texts[1],
  ]);
});

test('a survey on Telegram and Zalo, a dossier event, a broadcast and bad input leave no personal data in any log', async () => {
  // --- Telegram: a whole survey, free text and a phone number typed in a suggestion.
  const token = await dossierWithToken('LP-260101-0001');
  const u = tg.user(TG_CITIZEN, { firstName: PERSONAL.names[0]! });
  await u.command('/start', token);
  await nth(TG_CITIZEN, 1);
  await u.tapLabel('Đồng ý');
  await nth(TG_CITIZEN, 2);
  await u.tapLabel('Rất không hài lòng');
  await nth(TG_CITIZEN, 3);
  await u.tapLabel('Lý do khác');
  await tg.waitFor(() =>
    tg
      .lastMessageTo(TG_CITIZEN)!
      .replyMarkup!.inline_keyboard.flat()
      .some((b) => b.text.startsWith('☑ Lý do khác')),
  );
  await u.tapLabel('Xong');
  await nth(TG_CITIZEN, 4);
  await u.send(PERSONAL.texts[0]!);
  await nth(TG_CITIZEN, 5);
  let n = 5;
  for (const label of ['4. Hài lòng', 'Rất hài lòng', 'Bình thường', 'Rất hài lòng', '4. Hài lòng'])
    await (async () => {
      await u.tapLabel(label);
      await nth(TG_CITIZEN, ++n);
    })();
  await u.send(`${PERSONAL.texts[1]}, gọi tôi ${PERSONAL.phones[0]}`);
  expect((await nth(TG_CITIZEN, n + 1)).text).toMatch(/^Trân trọng cảm ơn/);

  // --- Zalo: a survey started by a deep link, a free-text reason, then the shared-info form.
  const zToken = await dossierWithToken('LP-260101-0002');
  const webhook = `${baseUrl}/webhooks/zalo`;
  let clock = Date.now();
  const say = async (text: string) => {
    const msgId = `lp${(clock += 10)}`;
    expect(await zaloFake.deliver(webhook, zaloFake.textEvent(ZALO_CITIZEN, text, msgId))).toEqual([200]);
    await until(() => isZaloEventDone(redis, prefix, `m-${msgId}`), `zalo event ${msgId}`, 30_000);
    const sent = zaloFake.csTo(ZALO_CITIZEN) as Array<{
      attachment?: { payload: { buttons?: Array<{ title: string; payload: string }> } };
    }>;
    return sent.flatMap((m) => m.attachment?.payload.buttons ?? []);
  };
  const tap = async (buttons: Array<{ title: string; payload: string }>, title: RegExp) => {
    const b = [...buttons].reverse().find((x) => title.test(x.title));
    if (!b) throw new Error(`no button ${title}`);
    return say(b.payload);
  };
  let buttons = await say(`/start ${zToken}`);
  buttons = await tap(buttons, /^Đồng ý$/);
  buttons = await tap(buttons, /^1\. /);
  buttons = await tap(buttons, /Lý do khác/);
  await tap(buttons, /^Xong/);
  await say(PERSONAL.texts[2]!);
  const info = zaloFake.submitInfoEvent(ZALO_CITIZEN, {
    name: PERSONAL.names[2]!,
    phone: PERSONAL.phones[2]!,
  });
  expect(await zaloFake.deliver(webhook, info)).toEqual([200]);
  await until(
    async () => (await Contact.findOne({ channel: 'zalo', phoneHash: { $ne: null } }).lean()) !== null,
    'the shared phone hashed',
    30_000,
  );

  // --- A one-stop system's dossier event: the applicant's phone, chat, and a name it should not send.
  const { key } = await createApiKey({ name: 'mot-cua-logpriv' });
  const api = new ApiClient(baseUrl, key);
  const event = {
    code: 'LP-260101-0003',
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date().toISOString(),
    officerId: 'cb-09',
    applicant: { phone: PERSONAL.phones[1], telegramChatId: TG_CITIZEN, name: PERSONAL.names[1] },
    applicantName: PERSONAL.names[1],
  };
  const posted = await api.post('/api/v1/dossiers', event);
  expect(posted.status).toBeLessThan(300);
  // The outreach worker decides its invitation (sent to the citizen's chat, or skipped with a reason).
  await until(
    () =>
      Dossier.findOne({
        code: event.code,
        $or: [{ 'invitation.sentAt': { $ne: null } }, { 'invitation.skipped': { $ne: null } }],
      }).lean(),
    'the invitation decided',
    30_000,
  );

  // --- Bad input carrying personal data: refused, and not echoed into a log line.
  const bad = await api.post('/api/v1/dossiers', {
    ...event,
    code: 'LP-260101-0004',
    applicant: { phone: `${PERSONAL.phones[3]} ${PERSONAL.names[3]}` },
  });
  expect(bad.status).toBe(422);
  expect(
    await tg.postRaw(
      `${baseUrl}/webhooks/telegram`,
      `{"update_id":1,"message":{"text":"${PERSONAL.names[3]}"`,
      {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': WEBHOOK_SECRET,
      },
    ),
  ).toBe(400);

  // --- An admin's broadcast to the unit's subscribers: the Telegram citizen among them.
  await Contact.updateOne(
    { channel: 'telegram', channelUserId: String(TG_CITIZEN) },
    { $set: { consentAt: new Date(), unitCodes: ['19870'] } },
  );
  const admin = new ApiClient(baseUrl);
  expect((await admin.login('logpriv-admin', GOOD_PASSWORD)).status).toBe(200);
  const sentBefore = tg.sentTo(TG_CITIZEN).length;
  const bc = await admin.post('/api/v1/broadcasts', {
    text: 'Lịch tiếp công dân tháng 12 tại Xã Quảng Thái',
    unitCode: '19870',
    ignoreQuietHours: true,
  });
  expect(bc.status).toBe(201);
  await tg.waitFor(
    () =>
      tg
        .sentTo(TG_CITIZEN)
        .slice(sentBefore)
        .some((m) => m.text.includes('Lịch tiếp công dân')),
    60_000,
    'the broadcast',
  );

  // Drain both processes (their shutdown lines are logs too), then search all they wrote.
  await stopChildren();
  for (const c of children) {
    const log = c.log.join('');
    // The capture works: each process logged its start and its requests or jobs at debug level.
    expect(log).toContain('"process started"');
    expect(personalDataIn(log, PERSONAL)).toEqual([]);
  }
  const all = children.map((c) => c.log.join('')).join('\n');
  expect(all).toContain('"request completed"');
  expect(all).toMatch(/"jobId":"/);
}, 300_000);
