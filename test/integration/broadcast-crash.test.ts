import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Contact } from '../../models/contact';
import { createBroadcast } from '../../workers/broadcast/control';
import { DeliveryStore } from '../../workers/broadcast/delivery-store';
import { broadcastProgress } from '../../workers/broadcast/progress';
import { BroadcastQueues } from '../../workers/broadcast/queues';
import type { BroadcastWorkers } from '../../workers/broadcast/start';
import { FakeTelegram } from '../fakes/telegram-server';
import { broadcastTestEnv, startTestBroadcastWorkers, waitBroadcastStatus } from '../support/broadcasts';
import {
  clearPrefix,
  connectTestDb,
  dropTestDb,
  mongoUri,
  redisUrl,
  testPrefix,
  testRedis,
} from '../support/services';

/**
 * A broadcast worker process is killed (SIGKILL) mid-broadcast; another one takes over. Every
 * recipient gets the message; only deliveries that were mid-send at the kill may get it twice,
 * and the report counts exactly those.
 */
jest.setTimeout(600_000);
const N = 2000;
const RATE = 200;
const redis = testRedis();
const prefix = testPrefix('bccrash');
let dbName = '';
let fake: FakeTelegram;
let child: ChildProcess | null = null;
let takeover: BroadcastWorkers | null = null;
let queues: BroadcastQueues;

function startChild(): Promise<ChildProcess> {
  const uri = new URL(mongoUri());
  uri.pathname = `/${dbName}`;
  const proc = fork(
    path.join(__dirname, '../../workers/broadcast/main.ts'),
    // Locks of 5 s: short enough for a quick takeover, long enough that a loaded machine's slow
    // lock renewal does not make a living worker's jobs look stalled (and sent twice).
    ['--telegram-rate', String(RATE), '--lock-ms', '5000'],
    {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        MONGODB_URI: uri.toString(),
        REDIS_URL: redisUrl(),
        REDIS_PREFIX: prefix,
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_ROOT: fake.apiRoot,
        QUIET_HOURS_START: '00:00',
        QUIET_HOURS_END: '00:00',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    proc.once('message', () => resolve(proc));
    proc.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

beforeAll(async () => {
  dbName = await connectTestDb('bccrash');
  fake = await FakeTelegram.start();
  queues = new BroadcastQueues(redis, prefix);
  await Contact.insertMany(
    Array.from({ length: N }, (_, i) => ({
      channel: 'telegram',
      channelUserId: String(7_000_000 + i),
      consentAt: new Date(),
    })),
  );
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await takeover?.close();
  await queues.close();
  await fake.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

test('a worker killed mid-broadcast is taken over: everyone gets the message, only in-flight ones may get it twice, and those are counted', async () => {
  child = await startChild();
  const env = broadcastTestEnv(fake);
  const created = await createBroadcast(
    { text: 'Khởi động lại', target: {}, createdBy: 'staff-a' },
    { redis, prefix, queues, env },
  );
  await fake.waitFor(() => fake.sent.length >= 400, 300_000, '400 sends');

  const exited = new Promise((r) => child!.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  child = null;
  const sentBeforeKill = fake.sent.length;
  expect(sentBeforeKill).toBeLessThan(N);
  // What the dead worker left mid-send: the only deliveries that may go out twice.
  const { sending: inFlightAtKill } = await new DeliveryStore(redis, prefix).counts(created.id);

  ({ workers: takeover } = await startTestBroadcastWorkers(fake, redis, prefix, {
    limits: { telegram: { limitPerS: RATE } },
    lockDuration: 5000,
    stalledInterval: 1000,
  }));
  await waitBroadcastStatus(created.id, ['completed'], 300_000);

  const perChat = new Map<string, number>();
  for (const s of fake.sent) perChat.set(s.chatId, (perChat.get(s.chatId) ?? 0) + 1);
  const missing = Array.from({ length: N }, (_, i) => String(7_000_000 + i)).filter((c) => !perChat.has(c));
  expect(missing).toEqual([]);
  const twice = [...perChat.values()].filter((n) => n > 1).length;
  expect([...perChat.values()].every((n) => n <= 2)).toBe(true);
  expect(twice).toBeLessThanOrEqual(inFlightAtKill);
  const progress = (await broadcastProgress(created.id, redis, prefix))!;
  expect(progress.inFlightAtCrash).toBe(inFlightAtKill);
  expect(progress.counts.sent).toBe(N);
  console.log(
    `crash: ${sentBeforeKill} sent before the kill, ${inFlightAtKill} in flight, ${twice} sent twice`,
  );
});
