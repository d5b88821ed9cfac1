import mongoose, { Schema } from 'mongoose';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { meta, scale } from '../support/ingest';
import { connectTestDb, dropTestDb } from '../support/services';

/**
 * Writes with many statements, many at once: what the completion worker and the rollups do
 * under load. FerretDB 1.24 as published deadlocks on both (its update holds the connection of
 * its matching query while it waits for a second one, and one command's statements hold theirs
 * until the command ends); scripts/install-ferretdb.sh builds it with a patch that closes the
 * read first (docs/architecture.md, "FerretDB 1.24 as the test server"). On an unpatched build
 * these tests hang until jest's timeout, and every test after them with it.
 */
const Counter = mongoose.model(
  'ConcurrentCounter',
  new Schema({ k: { type: Number, required: true, unique: true }, v: Number }),
);

beforeAll(async () => {
  await connectTestDb('concurrent');
  await Promise.all([Counter.syncIndexes(), Answer.syncIndexes(), Response.syncIndexes()]);
});
afterAll(dropTestDb);

test('one bulk write of 300 updates that all match existing documents completes and applies every one', async () => {
  await Counter.insertMany(Array.from({ length: 300 }, (_, k) => ({ k, v: 0 })));
  const r = await Counter.bulkWrite(
    Array.from({ length: 300 }, (_, k) => ({
      updateOne: { filter: { k }, update: { $set: { v: k + 1 } }, upsert: true },
    })),
    { ordered: false },
  );
  expect(r.matchedCount).toBe(300);
  expect(r.modifiedCount).toBe(300);
  const docs = await Counter.find({}, { _id: 0, k: 1, v: 1 }).sort({ k: 1 }).lean();
  expect(docs.map((d) => d.v)).toEqual(Array.from({ length: 300 }, (_, k) => k + 1));
});

test('80 completions stored at once, each over nine answers recorded turn by turn, all land stamped', async () => {
  const questions = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9'];
  const ids = Array.from({ length: 80 }, (_, i) => `resp-conc-${String(i).padStart(4, '0')}`);
  // What answers.record leaves behind: every answer, no unit and no day yet.
  await Answer.insertMany(
    ids.flatMap((responseId) =>
      questions.map((questionId) => ({
        responseId,
        questionId,
        element: 'TIEP_CAN',
        type: 'scale5',
        value: 3,
        answeredAt: new Date('2025-03-10T02:05:00.000Z'),
      })),
    ),
  );
  const completedAt = new Date('2025-03-10T03:00:00.000Z');
  await Promise.all(
    ids.map((responseId, i) =>
      storeCompletion(
        responseId,
        meta(),
        questions.map((q) => scale(q, 'TIEP_CAN', 1 + (i % 5))),
        completedAt,
      ),
    ),
  );
  expect(await Response.countDocuments({ responseId: { $in: ids }, status: 'completed' })).toBe(80);
  // The payload's values win over the turn-by-turn ones, and every answer carries its day.
  const answers = await Answer.find(
    { responseId: { $in: ids } },
    { _id: 0, responseId: 1, value: 1, day: 1, unitCode: 1 },
  ).lean();
  expect(answers).toHaveLength(80 * 9);
  for (const a of answers) {
    const i = ids.indexOf(a.responseId);
    expect(a).toMatchObject({ value: 1 + (i % 5), day: '2025-03-10', unitCode: '19870' });
  }
});
