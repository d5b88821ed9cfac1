import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { meta, reasons, scale, testEnv, testLog, waitForJob } from '../support/ingest';
import {
  clearPrefix,
  connectTestDb,
  dropTestDb,
  mongoUri,
  redisUrl,
  testPrefix,
  testRedis,
} from '../support/services';

const prefix = testPrefix('crash');
let dbName: string;
let redis: Redis;
let producer: JobProducer;
let child: ChildProcess | null = null;
let second: RunningWorkers | null = null;

beforeAll(async () => {
  dbName = await connectTestDb('crash');
  redis = testRedis();
  producer = new JobProducer(redis, prefix);
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await second?.close();
  await producer.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

function startChild(): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '../support/ingest-worker-child.ts')],
    {
      env: {
        ...process.env,
        MONGODB_URI: mongoUri(),
        TEST_DB: dbName,
        REDIS_URL: redisUrl(),
        TEST_PREFIX: prefix,
        TEST_LOCK_MS: '1000',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`worker child exited early (${code})`)));
    proc.on('message', (m: { ready?: boolean }) => {
      if (m.ready) resolve(proc);
    });
  });
}

/** The worker that outlives the children, in this process: ingest, with a stalled check every 300 ms. */
function startSurvivor(): Promise<RunningWorkers> {
  return startWorkers({
    ctx: { env: testEnv(prefix), log: testLog, redis, prefix },
    producer,
    createConnection: testRedis,
    queues: ['ingest'],
    stalledInterval: 300,
  });
}

function nextMessage(proc: ChildProcess): Promise<{ stored?: string }> {
  return new Promise((resolve) => proc.once('message', resolve));
}

test('a worker SIGKILLed mid-job loses nothing: another worker takes the stalled job, data stored once', async () => {
  child = await startChild();
  const answers = [
    scale('q1', 'TIEP_CAN', 1),
    reasons('r1', 'TIEP_CAN', ['cho']),
    scale('q6', 'TONG_THE', 2),
  ];
  const stored = nextMessage(child);
  const a = await producer.add(
    'response.complete',
    { responseId: 'resp-crash-0001', meta: meta(), answers, completedAt: '2025-03-10T03:00:00.000Z' },
    { jobId: 'done-resp-crash-0001' },
  );
  // Queued behind it: the child (concurrency 1) never starts this one.
  const b = await producer.add(
    'response.complete',
    {
      responseId: 'resp-crash-0002',
      meta: meta(),
      answers: [scale('q6', 'TONG_THE', 5)],
      completedAt: '2025-03-10T03:01:00.000Z',
    },
    { jobId: 'done-resp-crash-0002' },
  );
  expect(await stored).toEqual({ stored: 'resp-crash-0001' });
  expect(await producer.getQueue('ingest').getJobState(a)).toBe('active');

  child.kill('SIGKILL');
  await once(child, 'exit');

  second = await startSurvivor();
  expect(await waitForJob(producer.getQueue('ingest'), a, 15_000)).toBe('completed');
  expect(await waitForJob(producer.getQueue('ingest'), b)).toBe('completed');
  const job = await producer.getQueue('ingest').getJob(a);
  expect(job?.stalledCounter).toBe(1);

  expect(await Response.countDocuments({ responseId: { $in: ['resp-crash-0001', 'resp-crash-0002'] } })).toBe(
    2,
  );
  expect(await Answer.countDocuments({ responseId: 'resp-crash-0001' })).toBe(3);
  expect(await Answer.countDocuments({ responseId: 'resp-crash-0002' })).toBe(1);
  expect(await Response.findOne({ responseId: 'resp-crash-0001' }).lean()).toMatchObject({
    status: 'completed',
    dissatisfied: true,
  });
});

test('a job whose workers are SIGKILLed twice in a row still completes, stored once (stalls do not fail an idempotent job)', async () => {
  await second?.close();
  second = null;
  const answers = [scale('q1', 'TIEP_CAN', 2), scale('q6', 'TONG_THE', 4)];
  const id = await producer.add(
    'response.complete',
    { responseId: 'resp-crash-0003', meta: meta(), answers, completedAt: '2025-03-11T03:00:00.000Z' },
    { jobId: 'done-resp-crash-0003' },
  );
  for (let kill = 1; kill <= 2; kill++) {
    // The second child's stalled check hands it the first child's job; each stores it, then hangs.
    child = await startChild();
    const stored = await nextMessage(child);
    expect(stored).toEqual({ stored: 'resp-crash-0003' });
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  second = await startSurvivor();
  // BullMQ's default (maxStalledCount 1) fails a job on its second stall.
  expect(await waitForJob(producer.getQueue('ingest'), id, 15_000)).toBe('completed');
  expect((await producer.getQueue('ingest').getJob(id))?.stalledCounter).toBe(2);
  expect(await Response.countDocuments({ responseId: 'resp-crash-0003' })).toBe(1);
  expect(await Answer.countDocuments({ responseId: 'resp-crash-0003' })).toBe(2);
});
