import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { Cluster } from 'ioredis';
import { parseEnv } from '../../config/env';
import { createApiKey } from '../../lib/api-auth';
import { createProducerConnection, type RedisClient } from '../../lib/redis';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Answer } from '../../models/answer';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { createBroadcast } from '../../workers/broadcast/control';
import { BroadcastQueues } from '../../workers/broadcast/queues';
import { FakeTelegram } from '../fakes/telegram-server';
import { freePort, uriWithDb } from '../support/app';
import { waitBroadcastStatus } from '../support/broadcasts';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster';
import { testPrefix, uniqueName } from '../support/services';
import { until } from '../support/until';

/**
 * The system on a real three-master Redis Cluster: two processes with the http and bot roles and
 * two with the workers role, every Redis use in cluster mode (REDIS_URL points nowhere). Citizens
 * answer surveys whose conversations move from one bot process to the other mid-survey, a
 * broadcast goes out, a dossier event brings its invitation; every answer is stored exactly once.
 */
jest.setTimeout(180_000);

const SECRET = 'cluster_secret-TOKEN_1';
const CITIZENS = [5101, 5102, 5103, 5104];
const prefix = testPrefix('cluster');
const dbName = uniqueName('cluster');
let cluster: TestRedisCluster;
let fake: FakeTelegram;
let redis: RedisClient;
let queues: BroadcastQueues;
const children: ChildProcess[] = [];
const httpPorts: number[] = [];

function startChild(roles: string, port: number | null): Promise<ChildProcess> {
  const proc = fork(join(__dirname, '../support/app-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      LOG_LEVEL: 'silent',
      ROLES: roles,
      PORT: String(port ?? 0),
      PUBLIC_URL: `http://127.0.0.1:${port ?? 1}`,
      MONGODB_URI: uriWithDb(dbName),
      // Nothing listens there: every connection must be to the cluster.
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      REDIS_PREFIX: prefix,
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_BOT_USERNAME: 'HaiLongClusterBot',
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      // The test points the fake's webhook at one process, then the other.
      TELEGRAM_SET_WEBHOOK: 'false',
      QUIET_HOURS_START: '00:00',
      QUIET_HOURS_END: '00:00',
      INVITE_COOLDOWN_DAYS: '0',
      SESSION_SYNC_LATER_MS: '200',
      DIGEST_AT: 'off',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(proc);
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${roles} process exited early (${code})`)));
    proc.once('message', () => resolve(proc));
  });
}

beforeAll(async () => {
  [cluster, fake] = await Promise.all([startRedisCluster(3), FakeTelegram.start()]);
  redis = createProducerConnection(parseEnv({ NODE_ENV: 'test', REDIS_CLUSTER_NODES: cluster.nodesEnv }));
  queues = new BroadcastQueues(redis, prefix);
  await mongoose.connect(uriWithDb(dbName), { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
  httpPorts.push(await freePort(), await freePort());
  await Promise.all([
    startChild('http,bot', httpPorts[0]),
    startChild('http,bot', httpPorts[1]),
    startChild('workers', null),
    startChild('workers', null),
  ]);
});

afterAll(async () => {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      await exited;
    }),
  );
  await queues?.close();
  redis?.disconnect();
  if (mongoose.connection.readyState === 1) {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  }
  await fake?.close();
  await cluster?.stop();
});

const webhookOf = (i: number) => `http://127.0.0.1:${httpPorts[i]}/webhooks/telegram`;

async function nth(chat: number, n: number) {
  await fake.waitFor(() => fake.sentTo(chat).length >= n, 30_000, `${n} messages to ${chat}`);
  return fake.sentTo(chat)[n - 1];
}

/** Consent, then q1–q6 at "5. Rất hài lòng", q7 skipped: `switchAt` moves the webhook to process 2 after that many answers. */
async function survey(chat: number, start: string | undefined, switchAt: number | null) {
  const u = fake.user(chat);
  const base = fake.sentTo(chat).length;
  await u.command('/start', start);
  await nth(chat, base + 1);
  await u.tapLabel('Đồng ý');
  await nth(chat, base + 2);
  for (let q = 1; q <= 6; q++) {
    if (q === switchAt) fake.setWebhook(webhookOf(1), SECRET);
    await u.tapLabel('5. Rất hài lòng');
    await nth(chat, base + 2 + q);
  }
  await u.send('bỏ qua');
  expect((await nth(chat, base + 9)).text).toContain('Trân trọng cảm ơn');
}

test('surveys, a broadcast and a dossier invitation through a three-master cluster: every answer stored exactly once', async () => {
  expect(redis).toBeInstanceOf(Cluster);
  // Every key of the prefix on one slot: the cluster's three masters share the slots, the hash tag picks one.
  const slot = Number(await redis.cluster('KEYSLOT', `${prefix}:x`));
  expect(Number(await redis.cluster('KEYSLOT', `${prefix}:bull:ingest:wait`))).toBe(slot);

  fake.setWebhook(webhookOf(0), SECRET);
  // Concurrent citizens; each conversation starts on process 1 and finishes on process 2.
  await Promise.all(CITIZENS.map((chat, i) => survey(chat, undefined, 2 + i)));
  expect(new Set(fake.webhookDeliveries.map((d) => d.status))).toEqual(new Set([200]));
  // From here on process 2 is the only bot process: process 1 stops (gracefully) and the rest
  // of the test does without it.
  const first = children[0];
  const stopped = once(first, 'exit');
  first.kill('SIGTERM');
  await stopped;

  const responses = await until(
    async () => {
      const r = await Response.find({ status: 'completed' }).lean();
      return r.length >= CITIZENS.length ? r : null;
    },
    'four completed responses',
    30_000,
  );
  expect(responses).toHaveLength(CITIZENS.length);
  await until(async () => (await Answer.countDocuments()) >= CITIZENS.length * 6, 'every answer', 30_000);

  // A dossier event of one of them: the invitation goes out once, by Telegram, with its deep link.
  const { key } = await createApiKey({ name: 'một cửa' });
  const code = 'H57.22.10-251201-0001';
  const posted = await fetch(`http://127.0.0.1:${httpPorts[1]}/api/v1/dossiers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      code,
      procedureCode: '1.001234',
      procedureName: 'Đăng ký khai sinh',
      unitCode: '19867',
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date().toISOString(),
      applicant: { telegramChatId: CITIZENS[0] },
    }),
  });
  expect(posted.status).toBeLessThan(300);
  await until(
    () => Dossier.findOne({ code, 'invitation.sentAt': { $ne: null } }).lean(),
    'invitation sent',
    30_000,
  );
  const invitations = fake.sentTo(CITIZENS[0]).filter((m) => m.text.includes(code));
  expect(invitations).toHaveLength(1);
  const link = invitations[0].replyMarkup!.inline_keyboard.flat()[0].url!;
  const token = new URL(link).searchParams.get('start')!;
  // The citizen follows it: this survey is about the dossier, answered on process 2.
  await survey(CITIZENS[0], token, null);
  const ofDossier = await until(
    () => Response.findOne({ dossierCode: code, status: 'completed' }).lean(),
    'the dossier survey',
    30_000,
  );
  expect(ofDossier.unitCode).toBe('19867');

  // A broadcast to everyone who consented, sent by the worker processes.
  const text = 'Thông báo: Bộ phận Một cửa làm việc cả sáng thứ Bảy.';
  const created = await createBroadcast(
    { text, target: {}, createdBy: 'staff-a' },
    {
      redis,
      prefix,
      queues,
      env: parseEnv({ NODE_ENV: 'test', QUIET_HOURS_START: '00:00', QUIET_HOURS_END: '00:00' }),
    },
  );
  await waitBroadcastStatus(created.id, ['completed'], 60_000);
  for (const chat of CITIZENS) expect(fake.sentTo(chat).filter((m) => m.text.includes(text))).toHaveLength(1);

  // Exactly once: one completed response per conversation, one answer per question of each.
  const all = await Response.find({ status: 'completed' }).lean();
  expect(all).toHaveLength(CITIZENS.length + 1);
  const answers = await Answer.find().lean();
  expect(answers).toHaveLength((CITIZENS.length + 1) * 6);
  const perQuestion = new Map<string, number>();
  for (const a of answers)
    perQuestion.set(
      `${a.responseId}/${a.questionId}`,
      (perQuestion.get(`${a.responseId}/${a.questionId}`) ?? 0) + 1,
    );
  expect([...perQuestion.values()].every((n) => n === 1)).toBe(true);
  expect(new Set(answers.map((a) => a.responseId))).toEqual(new Set(all.map((r) => r.responseId)));
  expect(answers.every((a) => a.value === 5)).toBe(true);
  expect(await Contact.countDocuments({ channel: 'telegram', consentAt: { $ne: null } })).toBe(
    CITIZENS.length,
  );
});
