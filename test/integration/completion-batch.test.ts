import mongoose from 'mongoose';
import type { CommandStartedEvent } from 'mongodb';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { answerBatcher } from '../../workers/jobs/in-progress-answer-writer';
import { meta, scale, suggestion } from '../support/ingest';
import { connectTestDb, dropTestDb, mongoUri } from '../support/services';

/**
 * Concurrent completions in one worker process share their database round trips
 * (completed-response-writer.ts, the completion batcher): counted here command by command, as
 * the driver sends them. Before the batcher each completion cost three in a row (find its
 * answers, stamp them, complete the response), with a dossier one more before them
 * (bench/RESULTS.md, "soak"); now the reads stay one per response, all at once, and the writes
 * are two per batch.
 */
const commands: string[] = [];
/** The commands that read or write documents (not the driver's own: hello, endSessions). */
const CRUD = new Set(['find', 'aggregate', 'insert', 'update', 'delete', 'findAndModify', 'getMore']);
let counting = false;

beforeAll(async () => {
  await connectTestDb('completion-batch');
  // Again with command monitoring on: a connection reads the option when it is made.
  const dbName = mongoose.connection.name;
  await mongoose.disconnect();
  await mongoose.connect(mongoUri(), {
    dbName,
    serverSelectionTimeoutMS: 5000,
    autoIndex: false,
    monitorCommands: true,
  });
  mongoose.connection.getClient().on('commandStarted', (e: CommandStartedEvent) => {
    if (!counting || !CRUD.has(e.commandName)) return;
    commands.push(`${String(e.command[e.commandName])}.${e.commandName}`);
  });
});
afterAll(dropTestDb);

const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
const completedAt = new Date('2025-03-10T03:00:00.000Z');
const answersOf = (value: number) => [
  ...ELEMENTS.map((e, i) => scale(`q${i + 1}`, e, value)),
  suggestion('Cảm ơn'),
];

/** A survey's answers recorded turn by turn, as the `answers.record` jobs write them. */
async function recordTurns(responseId: string, dossierCode: string | null, value: number): Promise<void> {
  await Promise.all(
    answersOf(value).map((answer) =>
      answerBatcher.add({ responseId, meta: meta({ dossierCode }), answer, answeredAt: completedAt }),
    ),
  );
}

const finds = (collection: string, n: number) => Array.from({ length: n }, () => `${collection}.find`);

async function counted<T>(run: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  commands.length = 0;
  counting = true;
  try {
    const result = await run();
    return { result, commands: [...commands] };
  } finally {
    counting = false;
  }
}

const stampsOf = async (responseIds: string[]) =>
  Answer.find(
    { responseId: { $in: responseIds } },
    { _id: 0, responseId: 1, questionId: 1, value: 1, day: 1 },
  )
    .sort({ responseId: 1, questionId: 1 })
    .lean();

test('twenty concurrent completions, half of them of a dossier, share two writes, the stamps before the responses', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `resp-batch-${String(i).padStart(3, '0')}`);
  const dossierOf = (i: number) => (i % 2 === 0 ? `D-BATCH-${i}` : null);
  await Promise.all(ids.map((id, i) => recordTurns(id, dossierOf(i), 4)));

  const { result, commands: sent } = await counted(() =>
    Promise.all(
      ids.map((id, i) => storeCompletion(id, meta({ dossierCode: dossierOf(i) }), answersOf(4), completedAt)),
    ),
  );

  expect(result).toEqual(ids.map(() => 'stored'));
  // The reads go out together (each response's answers; each dossier's completed response),
  // then the answers' writes, then, once they landed, the responses': 32 commands, not 70.
  expect(sent.slice(0, 30).sort()).toEqual([...finds('answers', 20), ...finds('responses', 10)]);
  expect(sent.slice(30)).toEqual(['answers.update', 'responses.update']);
  const stamped = await stampsOf(ids);
  expect(stamped).toHaveLength(ids.length * 7);
  expect(stamped.every((a) => a.day === '2025-03-10')).toBe(true);
  expect(
    await Response.countDocuments({ responseId: { $in: ids }, status: 'completed', day: '2025-03-10' }),
  ).toBe(ids.length);
});

test('a batch retried after its process died between the stamps and the responses stores every answer once', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `resp-retry-${String(i).padStart(3, '0')}`);
  // Recorded turn by turn with 3; the completion says 2 for q2 (its values win).
  await Promise.all(ids.map((id) => recordTurns(id, null, 3)));
  const payload = answersOf(3).map((a) => (a.questionId === 'q2' ? { ...a, value: 2 } : a));
  // What the killed process left: the first half's answers written and stamped, no response completed.
  const died = ids.slice(0, 5);
  await Answer.updateMany({ responseId: { $in: died } }, { $set: { unitCode: '19870', day: '2025-03-10' } });
  await Answer.updateMany({ responseId: { $in: died }, questionId: 'q2' }, { $set: { value: 2 } });

  // The retried jobs, and a duplicated delivery of three of them, land in one batch.
  const retried = [...ids, ...ids.slice(0, 3)];
  const { result, commands: sent } = await counted(() =>
    Promise.all(retried.map((id) => storeCompletion(id, meta(), payload, completedAt))),
  );

  expect(result).toEqual(retried.map(() => 'stored'));
  expect(sent).toEqual([...finds('answers', retried.length), 'answers.update', 'responses.update']);
  const stored = await stampsOf(ids);
  expect(stored).toEqual(
    ids.flatMap((responseId) =>
      payload.map((a) => ({ responseId, questionId: a.questionId, value: a.value, day: '2025-03-10' })),
    ),
  );
  expect(await Response.countDocuments({ responseId: { $in: ids } })).toBe(ids.length);
  expect(await Response.countDocuments({ responseId: { $in: ids }, status: 'completed' })).toBe(ids.length);

  // Once more: every answer is up to date, so the answers are only stamped (none unstamped is left).
  const snapshot = await Answer.find({ responseId: { $in: ids } }, { _id: 0 })
    .sort({ responseId: 1, questionId: 1 })
    .lean();
  await new Promise((r) => setTimeout(r, 20));
  await Promise.all(ids.map((id) => storeCompletion(id, meta(), payload, completedAt)));
  expect(
    await Answer.find({ responseId: { $in: ids } }, { _id: 0 })
      .sort({ responseId: 1, questionId: 1 })
      .lean(),
  ).toEqual(snapshot);
});

test('two completions of one dossier in one batch: one is counted, the other stamps nothing', async () => {
  const [a, b] = ['resp-same-d-a', 'resp-same-d-b'];
  await Promise.all([recordTurns(a, 'D-SAME', 5), recordTurns(b, 'D-SAME', 1)]);
  const outcomes = await Promise.all(
    [a, b].map((id, i) =>
      storeCompletion(id, meta({ dossierCode: 'D-SAME' }), answersOf(i === 0 ? 5 : 1), completedAt),
    ),
  );
  expect([...outcomes].sort()).toEqual(['dossier_taken', 'stored']);
  const winner = outcomes[0] === 'stored' ? a : b;
  const loser = winner === a ? b : a;
  expect(
    await Response.findOne({ dossierCode: 'D-SAME' }, { _id: 0, responseId: 1, status: 1 }).lean(),
  ).toEqual({
    responseId: winner,
    status: 'completed',
  });
  expect(await Answer.countDocuments({ responseId: loser, day: { $ne: null } })).toBe(0);
  expect(await Answer.countDocuments({ responseId: winner, day: '2025-03-10' })).toBe(7);

  // Later, a third chat's completion of the same dossier is refused by the batch's read: nothing stamped.
  await recordTurns('resp-same-d-c', 'D-SAME', 3);
  expect(
    await storeCompletion('resp-same-d-c', meta({ dossierCode: 'D-SAME' }), answersOf(3), completedAt),
  ).toBe('dossier_taken');
  expect(await Answer.countDocuments({ responseId: 'resp-same-d-c', day: { $ne: null } })).toBe(0);
});
