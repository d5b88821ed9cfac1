import { parseEnv } from '../../config/env';
import { hcm } from '../../lib/time';
import { logger } from '../../lib/logger';
import { Case } from '../../models/case';
import { Flag } from '../../models/flag';
import { Unit } from '../../models/unit';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { digestSentKey } from '../../workers/aggregation/digest/jobs';
import { DIGEST_SCHEDULER_ID, scheduleDigest } from '../../workers/aggregation/digest/schedule';
import { recomputeBucket } from '../../workers/aggregation/rollups/recompute';
import { FakeTelegram } from '../fakes/telegram-server';
import { waitForIdle, waitForJob } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('digest');
const producer = new JobProducer(redis, prefix);
const DAY = '2025-06-01';
let fake: FakeTelegram;
let workers: RunningWorkers;

async function respond(id: string, unitCode: string, values: number[]): Promise<void> {
  const elements = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
  const at = new Date('2025-06-01T03:00:00Z');
  await storeCompletion(
    id,
    {
      dossierCode: `HS-${id}`,
      unitCode,
      procedureCode: 'P1',
      officerId: 'O1',
      dossierChannel: 'in_person',
      onlineLevel: null,
      surveyChannel: 'telegram',
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi',
      startedAt: at.toISOString(),
    },
    values.map((v, i) => ({
      questionId: `q${i + 1}`,
      element: elements[i]!,
      type: 'scale5',
      value: v,
      text: i === 0 ? 'Nguyễn Văn A 0912345678' : null,
    })),
    at,
  );
}

const idle = () => waitForIdle([producer.getQueue('aggregate'), producer.getQueue('outbound')], 30_000);

beforeAll(async () => {
  fake = await FakeTelegram.start();
  await connectTestDb('digest');
  await Unit.insertMany([
    { code: '477', name: 'Huyện Quảng Điền', level: 'district', alertTelegramChatId: '-100477' },
    {
      code: '19870',
      name: 'Xã Quảng Thái',
      level: 'commune',
      parentCode: '477',
      alertTelegramChatId: '-100198',
    },
    { code: '19873', name: 'Xã Quảng Ngạn', level: 'commune', parentCode: '477' },
  ]);
  await respond('r1', '19870', [5, 5, 4, 5, 0, 5]);
  await respond('r2', '19870', [4, 2, 5, 5, 0, 4]);
  await respond('r3', '19870', [5, 5, 5, 5, 0, 5]);
  await respond('r4', '19873', [1, 1, 1, 1, 1, 1]);
  // Five identical answer sets at once: a burst the daily run flags before the digests count flags.
  for (let i = 0; i < 5; i++) await respond(`b${i}`, '19873', [3, 3, 3, 3, 3, 3]);
  for (const u of ['19870', '19873']) await recomputeBucket({ redis, prefix }, u, DAY);
  await Flag.create({
    responseId: 'r3',
    unitCode: '19870',
    day: DAY,
    reason: 'shared_contact',
    detail: 'x',
    createdAt: new Date(),
  });
  const base = { items: [], procedureCode: 'P1' };
  await Case.insertMany([
    {
      ...base,
      caseId: 'case-r2',
      responseId: 'r2',
      dossierCode: 'HS-r2',
      unitCode: '19870',
      status: 'open',
      openedAt: new Date('2025-06-01T03:00:00Z'),
      dueAt: new Date('2099-01-01'),
      day: DAY,
    },
    {
      ...base,
      caseId: 'case-old',
      responseId: 'old',
      dossierCode: 'HS-old',
      unitCode: '19870',
      status: 'in_progress',
      openedAt: new Date('2025-05-20T03:00:00Z'),
      dueAt: new Date('2025-05-23T03:00:00Z'),
      day: '2025-05-20',
    },
    {
      ...base,
      caseId: 'case-done',
      responseId: 'done',
      dossierCode: 'HS-done',
      unitCode: '19870',
      status: 'closed',
      openedAt: new Date('2025-05-20T03:00:00Z'),
      dueAt: new Date('2025-05-23T03:00:00Z'),
      day: '2025-05-20',
    },
  ]);
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MAX_RETRIES: '1',
    REDIS_PREFIX: prefix,
  });
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: () => testRedis(),
    queues: ['aggregate', 'outbound'],
  });
});

afterAll(async () => {
  await workers?.close();
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
  await fake?.close();
});

test("each unit group gets yesterday's responses, index, new and overdue cases, without personal data", async () => {
  await producer.add('digest.run', { day: DAY });
  await fake.waitFor(
    () => fake.sentTo('-100198').length >= 1 && fake.sentTo('-100477').length >= 1,
    30_000,
    'two digests',
  );
  await idle();
  const commune = fake.sentTo('-100198');
  expect(commune).toHaveLength(1);
  const text = commune[0]!.text;
  expect(text).toContain('📊 Báo cáo ngày 01/06/2025');
  expect(text).toContain('Đơn vị: Xã Quảng Thái (19870)');
  expect(text).toContain('Phiếu hoàn thành: 3');
  expect(text).toContain('Phiếu nghi vấn cần xem xét: 1');
  // Overall: mean of the five elements' shares (PAKN has no applicable answers): (1 + 2/3 + 1 + 1) / 4.
  expect(text).toMatch(/Chỉ số chung: 91,7% \(n=12; KTC 95%: /);
  expect(text).toContain('• Tiếp cận dịch vụ: chưa đủ dữ liệu (n=3 < 30)');
  expect(text).toContain('Phản ánh không hài lòng mới: 1');
  expect(text).toContain('Phản ánh quá hạn chưa xử lý: 1 (hồ sơ HS-old)');
  expect(text).not.toMatch(/0912345678|Nguyễn Văn A/);
  // The district's group sees its subtree (both communes), with the burst flagged by the run.
  const district = fake.sentTo('-100477')[0]!.text;
  expect(district).toContain('Phiếu hoàn thành: 9');
  expect(district).toContain('Phiếu nghi vấn cần xem xét: 6');
  expect((await Flag.find({ reason: 'identical_burst' }).lean()).map((f) => f.responseId).sort()).toEqual([
    'b0',
    'b1',
    'b2',
    'b3',
    'b4',
  ]);
  // A unit without a group gets nothing, and nothing else was sent.
  expect(fake.callsOf('sendMessage')).toHaveLength(2);
});

test('a rerun of the day, or the same digest once BullMQ forgot its job id, sends nothing more', async () => {
  await producer.add('digest.run', { day: DAY });
  await idle();
  const again = await producer.add(
    'digest.send',
    { unitCode: '19870', day: DAY },
    { jobId: 'digest-19870-2025-06-01-later' },
  );
  expect(await waitForJob(producer.getQueue('outbound'), again, 30_000)).toBe('completed');
  expect(fake.sentTo('-100198')).toHaveLength(1);
  expect(fake.sentTo('-100477')).toHaveLength(1);
  expect(await redis.exists(digestSentKey(prefix, '19870', DAY))).toBe(1);
});

test('a failed send releases the claim, and the retry sends it once', async () => {
  const before = fake.sentTo('-100198').length;
  // More failures than the client retries inline (1): the job fails once and BullMQ retries it.
  fake.failNext('sendMessage', { code: 503 }, 3);
  const job = await producer.add('digest.send', { unitCode: '19870', day: '2025-06-02' });
  expect(await waitForJob(producer.getQueue('outbound'), job, 40_000)).toBe('completed');
  const sent = fake.sentTo('-100198');
  expect(sent).toHaveLength(before + 1);
  expect(sent[before]!.text).toContain('Báo cáo ngày 02/06/2025');
  expect(fake.callsOf('sendMessage').filter((c) => c.outcome === 503)).toHaveLength(3);
});

test('without a day, the scheduled run reports the Asia/Ho_Chi_Minh day before', async () => {
  await producer.add('digest.run', {});
  const yesterday = hcm(new Date()).minus({ days: 1 }).toFormat('dd/LL/yyyy');
  await fake.waitFor(
    () => fake.sentTo('-100198').some((m) => m.text.includes(`Báo cáo ngày ${yesterday}`)),
    30_000,
    "yesterday's digest",
  );
});

test('the schedule is a job scheduler at DIGEST_AT, Asia/Ho_Chi_Minh; "off" removes it', async () => {
  const queue = producer.getQueue('aggregate');
  await scheduleDigest(queue, '07:30');
  await scheduleDigest(queue, '07:30');
  const s = await queue.getJobScheduler(DIGEST_SCHEDULER_ID);
  expect(s).toMatchObject({ pattern: '0 30 7 * * *', tz: 'Asia/Ho_Chi_Minh', name: 'digest.run' });
  expect(await queue.getJobSchedulersCount()).toBe(1);
  await scheduleDigest(queue, 'off');
  expect(await queue.getJobScheduler(DIGEST_SCHEDULER_ID)).toBeUndefined();
});
