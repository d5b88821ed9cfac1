import { jobAnswerSink } from '../../workers/answer-sink';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { InvalidPayloadError } from '../../workers/producer';
import { ingestHarness, meta, scale, waitForIdle } from '../support/ingest';

const { producer, startIngestWorkers } = ingestHarness('answersink');

const ingest = () => producer.getQueue('ingest');
const answer = (responseId: string, q: number) => ({
  responseId,
  meta: meta(),
  answer: scale(`q${q}`, 'TIEP_CAN', (q % 5) + 1),
  answeredAt: '2025-03-10T02:01:00.000Z',
});

test('concurrent answers share jobs; each is stored once, a replayed one too; a bad one is refused alone', async () => {
  const sink = jobAnswerSink(producer, { batchWaitMs: 20 });
  const good = Array.from({ length: 60 }, (_, i) =>
    answer(`resp-sink-${String(Math.floor(i / 6)).padStart(4, '0')}`, i % 6),
  );
  const bad = { ...answer('resp-sink-bad1', 1), answeredAt: 'not a date' };
  const results = await Promise.allSettled([
    ...good.map((p) => sink.answer(p)),
    sink.answer(bad),
    sink.answer(good[0]),
  ]);
  // Every good answer (and the replay) was acknowledged only once its job was in Redis.
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(61);
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(refused).toHaveLength(1);
  expect(refused[0].reason).toBeInstanceOf(InvalidPayloadError);
  expect(String((refused[0].reason as Error).message)).toContain('answeredAt');

  const jobs = await ingest().getJobs(['waiting']);
  expect(jobs.every((j) => j.name === 'answers.record')).toBe(true);
  expect(jobs.length).toBeGreaterThanOrEqual(1);
  expect(jobs.length).toBeLessThan(61);
  expect(jobs.reduce((n, j) => n + (j.data as { items: unknown[] }).items.length, 0)).toBe(61);

  await startIngestWorkers();
  await waitForIdle(ingest(), 45_000);
  expect(await Answer.countDocuments({ responseId: /^resp-sink-/ })).toBe(60);
  expect(await Answer.countDocuments({ responseId: 'resp-sink-0000', questionId: 'q0' })).toBe(1);
  expect(await Response.countDocuments({ responseId: /^resp-sink-/, status: 'started' })).toBe(10);
  expect(await Answer.countDocuments({ responseId: 'resp-sink-bad1' })).toBe(0);
  // Inserted lean: the documents still carry every field the model defines.
  const stored = await Answer.findOne({ responseId: 'resp-sink-0003', questionId: 'q2' }).lean();
  expect(stored).toMatchObject({
    element: 'TIEP_CAN',
    type: 'scale5',
    value: 3,
    text: null,
    unitCode: null,
    day: null,
  });
  expect(stored!.createdAt).toBeInstanceOf(Date);
  // The started responses too: the same fields as a document mongoose builds from the model.
  const response = await Response.findOne({ responseId: 'resp-sink-0003' }, { _id: 0, __v: 0 }).lean();
  const hydrated = new Response({ ...response }).toObject({ versionKey: false }) as Record<string, unknown>;
  delete hydrated._id;
  expect(Object.keys(response!).sort()).toEqual(Object.keys(hydrated).sort());
  expect(response).toMatchObject({ status: 'started', completedAt: null, day: null, dissatisfied: false, excluded: { at: null, by: null, reason: null } });
});
