import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Answer } from '../../models/answer';
import { Case } from '../../models/case';
import { Response } from '../../models/response';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { meta, scale } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';
import { until } from '../support/until';

/**
 * One response per dossier, guaranteed by MongoDB too (Redis's claim in the bot may be lost):
 * a `response.complete` for a dossier another response completed is a final outcome, stamping
 * nothing and opening no case; the first to finish takes the dossier from a survey in progress.
 */
const redis = testRedis();
const prefix = testPrefix('respdossier');
const env = parseEnv({ ...process.env, NODE_ENV: 'test' });
const producer = new JobProducer(redis, prefix);
let workers: RunningWorkers;

function payload(responseId: string, dossierCode: string, value: number) {
  const answers = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'].map((e, i) =>
    scale(`q${i + 1}`, e, value),
  );
  return { responseId, meta: meta({ dossierCode }), answers, completedAt: '2025-03-10T03:00:00.000Z' };
}

/** The job's end: its return value once done, or its error (a retry was scheduled). */
async function outcome(
  jobId: string,
): Promise<{ returned: unknown; failed: string | undefined; attempts: number }> {
  const queue = producer.getQueue('ingest');
  await until(async () => {
    const j = await queue.getJob(jobId);
    return Boolean(j && (j.finishedOn || j.failedReason));
  }, `job ${jobId} to end`);
  const j = (await queue.getJob(jobId))!;
  return {
    returned: j.returnvalue as unknown,
    failed: j.failedReason || undefined,
    attempts: j.attemptsMade,
  };
}

beforeAll(async () => {
  await connectTestDb('respdossier');
  aggregationSettings.coalesceMs = 50;
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: () => testRedis(),
    queues: ['ingest', 'aggregate'],
  });
});

afterAll(async () => {
  await workers.close();
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a completion for a dossier another response completed is final: nothing stamped, no case, no retry', async () => {
  const first = payload('resp-dos-first-1', 'DOS-SHARED-1', 5);
  await producer.add('response.complete', first, { jobId: 'done-first-1' });
  expect(await outcome('done-first-1')).toMatchObject({ failed: undefined });
  // The second chat's answers, recorded turn by turn (not yet stamped), then its completion.
  const second = payload('resp-dos-second-1', 'DOS-SHARED-1', 1);
  await Answer.insertMany(
    second.answers.map((a) => ({ ...a, responseId: second.responseId, answeredAt: new Date() })),
  );
  await producer.add('response.complete', second, { jobId: 'done-second-1' });
  expect(await outcome('done-second-1')).toEqual({
    returned: 'dossier_taken',
    failed: undefined,
    attempts: 1,
  });

  const responses = await Response.find(
    { dossierCode: 'DOS-SHARED-1' },
    { _id: 0, responseId: 1, status: 1 },
  ).lean();
  expect(responses).toEqual([{ responseId: first.responseId, status: 'completed' }]);
  expect(await Response.countDocuments({ responseId: second.responseId })).toBe(0);
  const stamped = await Answer.countDocuments({ responseId: second.responseId, day: { $ne: null } });
  expect(stamped).toBe(0);
  // Its 1s would have opened a case had it been counted.
  expect(await Case.countDocuments({ responseId: second.responseId })).toBe(0);
});

test('the first survey to finish takes the dossier from one still in progress, whose answers started it', async () => {
  const inProgress = payload('resp-dos-progress-2', 'DOS-SHARED-2', 3);
  // As answers.record writes a response's "started" record: it holds the dossier (unique index).
  await Response.collection.insertOne({
    responseId: inProgress.responseId,
    dossierCode: 'DOS-SHARED-2',
    unitCode: '19870',
    surveyChannel: 'web',
    flowKey: 'default',
    flowVersion: 1,
    status: 'started',
    startedAt: new Date(),
  });
  const finished = payload('resp-dos-finished-2', 'DOS-SHARED-2', 4);
  await producer.add('response.complete', finished, { jobId: 'done-finished-2' });
  expect(await outcome('done-finished-2')).toEqual({ returned: 'stored', failed: undefined, attempts: 1 });
  expect(
    await Response.findOne({ dossierCode: 'DOS-SHARED-2' }, { _id: 0, responseId: 1, status: 1 }).lean(),
  ).toEqual({
    responseId: finished.responseId,
    status: 'completed',
  });
  expect(await Answer.countDocuments({ responseId: finished.responseId, day: '2025-03-10' })).toBe(6);
  // The one in progress, finishing later, is not counted.
  await producer.add('response.complete', inProgress, { jobId: 'done-progress-2' });
  expect(await outcome('done-progress-2')).toMatchObject({ returned: 'dossier_taken', failed: undefined });
  expect(await Response.countDocuments({ dossierCode: 'DOS-SHARED-2' })).toBe(1);
});
