import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import { Unit } from '../../models/unit';
import type { BroadcastWorkers } from '../../workers/broadcast/start';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestBroadcastWorkers, waitBroadcastStatus } from '../support/broadcasts';
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
 * The CLI contract, run as the real command (bin/hailong.ts in a child process, as `npx hailong`
 * runs it) against the test services: `broadcast send … --yes` prints the id on its last line,
 * `broadcast status ID --json` prints the counts. Delivery workers run in this process.
 */
jest.setTimeout(300_000);
const N = 25;
const run = promisify(execFile);
const redis = testRedis();
const prefix = testPrefix('bccli');
let dbName = '';
let fake: FakeTelegram;
let workers: BroadcastWorkers;

async function hailong(...args: string[]): Promise<string[]> {
  const uri = new URL(mongoUri());
  uri.pathname = `/${dbName}`;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../../bin/hailong.ts'), ...args],
    {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        MONGODB_URI: uri.toString(),
        REDIS_URL: redisUrl(),
        REDIS_PREFIX: prefix,
        QUIET_HOURS_START: '00:00',
        QUIET_HOURS_END: '00:00',
      },
      timeout: 120_000,
    },
  );
  return stdout.trimEnd().split('\n');
}

beforeAll(async () => {
  dbName = await connectTestDb('bccli');
  fake = await FakeTelegram.start();
  ({ workers } = await startTestBroadcastWorkers(fake, redis, prefix, {
    limits: { telegram: { limitPerS: 200 } },
  }));
  await Unit.create({ code: '27001', name: 'Phường Phú Hội', level: 'ward' });
  await Contact.insertMany(
    Array.from({ length: N }, (_, i) => ({
      channel: 'telegram',
      channelUserId: String(8_100_000 + i),
      consentAt: new Date(),
      unitCodes: ['27001'],
    })),
  );
});

afterAll(async () => {
  await workers.close();
  await fake.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

test('send --yes prints the broadcast id on its last line; status --json prints its counts', async () => {
  const out = await hailong(
    'broadcast',
    'send',
    '--text',
    'Mời Ông/Bà đánh giá dịch vụ',
    '--channel',
    'telegram',
    '--ignore-quiet-hours',
    '--yes',
  );
  const id = out[out.length - 1]!;
  expect(id).toMatch(/^[a-f0-9]{24}$/);
  expect(out.join('\n')).toContain(`Người nhận / recipients: ${N}`);

  await waitBroadcastStatus(id, ['completed'], 120_000);
  expect(new Set(fake.sent.map((m) => m.chatId)).size).toBe(N);

  const status = JSON.parse((await hailong('broadcast', 'status', id, '--json')).join('\n')) as {
    id: string;
    status: string;
    recipients: number;
    counts: Record<string, number>;
  };
  expect(status).toMatchObject({ id, status: 'completed', recipients: N });
  expect(status.counts).toEqual({
    queued: 0,
    sending: 0,
    sent: N,
    failed: 0,
    blocked: 0,
    skipped: 0,
    cancelled: 0,
  });
});

test('without --yes nothing is created: the preview and the recipient count only', async () => {
  const before = await Broadcast.countDocuments();
  const out = await hailong('broadcast', 'send', '--text', 'Xem trước', '--unit', '27001');
  expect(out.join('\n')).toContain(`Người nhận / recipients: ${N}`);
  expect(out[out.length - 1]).toContain('Not sent');
  expect(await Broadcast.countDocuments()).toBe(before);
});

test("`broadcast send --template` fills the unit's awareness text and links; a results template below the minimum is refused and sends nothing", async () => {
  const preview = (await hailong('broadcast', 'send', '--template', 'muc-dich', '--unit', '27001')).join(
    '\n',
  );
  expect(preview).toContain('Phường Phú Hội trân trọng đề nghị Quý ông/bà');
  expect(preview).toContain('/s/u/27001');
  expect(preview).toContain('/ket-qua/27001');
  expect(preview).toContain('Người nhận / recipients: 25');
  const before = await Broadcast.countDocuments();
  const refused = hailong('broadcast', 'send', '--template', 'ket-qua', '--unit', '27001', '--yes');
  await expect(refused).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining('chưa có kết quả đủ số phiếu'),
  });
  await expect(hailong('broadcast', 'send', '--template', 'muc-dich', '--yes')).rejects.toMatchObject({
    code: 2,
  });
  await expect(
    hailong('broadcast', 'send', '--template', 'muc-dich', '--text', 'x', '--unit', '27001'),
  ).rejects.toMatchObject({ code: 2 });
  expect(await Broadcast.countDocuments()).toBe(before);
});
