import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { meta, reasons, scale, suggestion } from '../support/ingest';
import { connectTestDb, dropTestDb } from '../support/services';

beforeAll(async () => {
  await connectTestDb('completed-response-writer');
  await Promise.all([Answer.syncIndexes(), Response.syncIndexes()]);
});
afterAll(dropTestDb);

const answeredAt = new Date('2025-03-10T02:05:00.000Z');

test('a completion writes the payload over what was recorded turn by turn, fills what is missing, stamps every answer', async () => {
  const responseId = 'resp-store-0001';
  // Recorded turn by turn: q1 as the payload says, q2 with another value, q2r and q7 not at all.
  await Answer.insertMany([
    { responseId, questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: 4, answeredAt },
    { responseId, questionId: 'q2', element: 'TTHC', type: 'scale5', value: 5, answeredAt },
  ]);
  const before = await Answer.findOne({ responseId, questionId: 'q1' }).lean();
  // The whole survey, as response.complete carries it.
  const payload = [
    scale('q1', 'TIEP_CAN', 4),
    scale('q2', 'TTHC', 2),
    reasons('q2r', 'TTHC', ['cham', 'khac'], 'x'),
    suggestion('y'),
  ];

  const completedAt = new Date('2025-03-10T17:30:00.000Z'); // 00:30 on the 11th in Hồ Chí Minh City
  await storeCompletion(responseId, meta(), payload, completedAt);

  const stored = await Answer.find(
    { responseId },
    { _id: 0, questionId: 1, value: 1, text: 1, day: 1, unitCode: 1, answeredAt: 1 },
  )
    .sort({ questionId: 1 })
    .lean();
  expect(stored.map((a): unknown[] => [a.questionId, a.value as unknown, a.text, a.day, a.unitCode])).toEqual(
    [
      ['q1', 4, null, '2025-03-11', '19870'],
      ['q2', 2, null, '2025-03-11', '19870'],
      ['q2r', ['cham', 'khac'], 'x', '2025-03-11', '19870'],
      ['q7', null, 'y', '2025-03-11', '19870'],
    ],
  );
  // An answer keeps the moment it was first recorded.
  expect(stored[0].answeredAt).toEqual(before?.answeredAt);
  expect(
    await Response.findOne({ responseId }, { _id: 0, status: 1, day: 1, dissatisfied: 1 }).lean(),
  ).toEqual({
    status: 'completed',
    day: '2025-03-11',
    dissatisfied: true,
  });

  // The same job again (a retry) writes no answer: storeCompletion reads first and finds every
  // one up to date, so not even an updatedAt moves (the pause lets a rewrite show in it).
  const snapshot = await Answer.find({ responseId }, { _id: 0 }).sort({ questionId: 1 }).lean();
  await new Promise((r) => setTimeout(r, 20));
  await storeCompletion(responseId, meta(), payload, completedAt);
  expect(await Answer.find({ responseId }, { _id: 0 }).sort({ questionId: 1 }).lean()).toEqual(snapshot);
  expect(await Response.countDocuments({ responseId })).toBe(1);
});
