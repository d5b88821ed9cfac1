import { deflateRawSync } from 'node:zlib';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { hcmDay } from '../../lib/time';
import { Answer } from '../../models/answer';
import { Rollup } from '../../models/rollup';
import { RollupMonth } from '../../models/rollup-month';
import { Response } from '../../models/response';
import { answerBatcher } from '../../workers/jobs/in-progress-answer-writer';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { backfillAnswerBuckets } from '../../workers/aggregation/rollups/backfill';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { epochKey, monthEpochKey } from '../../workers/aggregation/rollups/epochs';
import { nextVersion, recomputeBucket, writeBucket } from '../../workers/aggregation/rollups/recompute';
import { scheduleRollup } from '../../workers/aggregation/rollups/schedule';
import { buildBucket } from '../../workers/aggregation/rollups/bucket';
import { recomputeMonth, writeMonth } from '../../workers/aggregation/rollups/month';
import {
  loadBreakdowns,
  loadRollups,
  loadTotals,
  sumGroups,
  sumTotals,
  type PeriodRollup,
} from '../../indices/period-sum';
import { unpackBreakdowns } from '../../indices/month-breakdowns';
import { buildProgram } from '../../cli/program';
import { waitForIdle } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('aggrollup');
const env = parseEnv({ ...process.env, NODE_ENV: 'test' });
const producer = new JobProducer(redis, prefix);
let workers: RunningWorkers | undefined;

const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
let seq = 0;
function completion(
  unitCode: string,
  at: string,
  values: number[],
  extra: Partial<{
    procedureCode: string;
    officerId: string;
    channel: 'in_person' | 'online' | 'post';
    level: number | null;
  }> = {},
) {
  seq++;
  return {
    responseId: `resp-${String(seq).padStart(6, '0')}`,
    meta: {
      dossierCode: `DOS-${seq}`,
      unitCode,
      procedureCode: extra.procedureCode ?? 'P1',
      officerId: extra.officerId ?? 'OFF1',
      dossierChannel: extra.channel ?? 'in_person',
      onlineLevel: extra.level ?? null,
      surveyChannel: 'telegram' as const,
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi' as const,
      startedAt: at,
    },
    answers: values.map((v, i) => ({
      questionId: `q${i + 1}`,
      element: ELEMENTS[i],
      type: 'single_choice',
      value: v,
      text: null,
    })),
    completedAt: at,
  };
}

/** A rollup without the fields that name the run that wrote it. */
async function snapshot() {
  const docs = await Rollup.find({}, { _id: 0, version: 0, computedAt: 0, __v: 0 })
    .sort({ unitCode: 1, day: 1 })
    .lean();
  return JSON.parse(JSON.stringify(docs)) as unknown[];
}

/** Month totals, likewise. */
async function monthSnapshot() {
  const docs = await RollupMonth.find({}, { version: 0, computedAt: 0, __v: 0 }).sort({ _id: 1 }).lean();
  return JSON.parse(JSON.stringify(docs)) as Array<{ _id: string; days: number; responses: number }>;
}

beforeAll(async () => {
  await connectTestDb('aggrollup');
  aggregationSettings.coalesceMs = 150;
});

afterAll(async () => {
  await workers?.close();
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a burst of completions through the workers gives the same documents as a rebuild', async () => {
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: () => testRedis(),
    queues: ['ingest', 'aggregate'],
  });
  const items = [
    // 23:30 UTC is 06:30 next day in Huế: the day is the Asia/Ho_Chi_Minh day.
    completion('U1', '2025-03-01T23:30:00.000Z', [5, 4, 3, 2, 0, 4], { procedureCode: 'P1', officerId: 'A' }),
    completion('U1', '2025-03-02T01:00:00.000Z', [1, 5, 5, 5, 5, 5], {
      procedureCode: 'P2',
      officerId: 'B',
      channel: 'online',
      level: 4,
    }),
    completion('U1', '2025-03-02T02:00:00.000Z', [4, 4, 4, 4, 4, 4], {
      procedureCode: 'P2',
      channel: 'online',
      level: 3,
    }),
    completion('U2', '2025-03-02T03:00:00.000Z', [3, 3, 3, 3, 3, 3], { channel: 'post' }),
    completion('U2', '2025-03-05T03:00:00.000Z', [5, 5, 5, 5, 0, 5]),
  ];
  // Each one twice: a duplicated delivery must not count twice.
  for (const it of [...items, ...items]) await producer.add('response.complete', it);
  await waitForIdle([producer.getQueue('ingest'), producer.getQueue('aggregate')], 90_000);
  const incremental = await snapshot();
  expect(incremental).toHaveLength(3);
  // The day writes scheduled their months' totals (rollup.month), summed from the days.
  const incrementalMonths = await monthSnapshot();
  expect(incrementalMonths.map((m) => [m._id, m.days, m.responses])).toEqual([
    ['U1|2025-03', 1, 3],
    ['U2|2025-03', 2, 2],
  ]);

  const u1 = await Rollup.findOne({ unitCode: 'U1', day: '2025-03-02' }).lean();
  expect(u1!.responses).toBe(3);
  expect(u1!.dissatisfiedResponses).toBe(2);
  const tiepCan = u1!.total.find((c) => c.element === 'TIEP_CAN')!;
  expect(tiepCan).toMatchObject({ n: 3, satisfied: 2, dissatisfied: 1, na: 0 });
  const pakn = u1!.total.find((c) => c.element === 'PAKN')!;
  expect(pakn).toMatchObject({ n: 2, satisfied: 2, na: 1 });
  expect(u1!.byChannel.map((g) => [g.key, g.responses])).toEqual([
    ['in_person', 1],
    ['online_3', 1],
    ['online_4', 1],
  ]);
  expect(u1!.byProcedure.map((g) => [g.key, g.responses])).toEqual([
    ['P1', 1],
    ['P2', 2],
  ]);

  await Rollup.deleteMany({});
  await RollupMonth.deleteMany({});
  const r = await rebuildRollups({ redis, prefix });
  expect(r).toMatchObject({ buckets: 3, months: 2 });
  expect(await snapshot()).toEqual(incremental);
  expect(await monthSnapshot()).toEqual(incrementalMonths);

  // And a rebuild over a partial range leaves other days alone and changes nothing.
  await rebuildRollups({ redis, prefix }, '2025-03-05', '2025-03-05');
  expect(await snapshot()).toEqual(incremental);
  expect(await monthSnapshot()).toEqual(incrementalMonths);
  await workers.close();
  workers = undefined;
  // Generous: on a shared machine a job may fail (PostgreSQL out of connections) and wait its backoff.
}, 200_000);

test('an answer landing while the recompute is active gets a new job id, so it is not lost', async () => {
  const day = '2025-04-01';
  const deps = { redis, prefix, enqueue: async () => undefined };
  const first = completion('U3', '2025-04-01T03:00:00.000Z', [5, 5, 5, 5, 5, 5]);
  await storeCompletion(first.responseId, first.meta, first.answers, new Date(first.completedAt));
  const idBefore = await scheduleRollup(deps, 'U3', day);
  // Two schedules before the job starts coalesce into one id.
  expect(await scheduleRollup(deps, 'U3', day)).toBe(idBefore);

  // The job starts: it takes its version, then reads.
  const v = await nextVersion({ redis, prefix }, 'U3', day);
  // A new answer is stored and scheduled mid-run.
  const late = completion('U3', '2025-04-01T04:00:00.000Z', [1, 1, 1, 1, 1, 1]);
  await storeCompletion(late.responseId, late.meta, late.answers, new Date(late.completedAt));
  const idAfter = await scheduleRollup(deps, 'U3', day);
  expect(idAfter).not.toBe(idBefore);

  // The late job finishes first and writes both responses...
  const second = await recomputeBucket({ redis, prefix }, 'U3', day);
  expect(second.version).toBeGreaterThan(v);
  // ...then the slow first run writes its stale read (only the first response): refused.
  const stale = buildBucket(
    [
      {
        responseId: first.responseId,
        procedureCode: 'P1',
        officerId: 'OFF1',
        dossierChannel: 'in_person',
        onlineLevel: null,
        dissatisfied: false,
        excluded: false,
      },
    ],
    [],
  );
  expect(await writeBucket('U3', day, v, stale, new Date())).toBe(false);
  const doc = await Rollup.findOne({ unitCode: 'U3', day }).lean();
  expect(doc!.responses).toBe(2);
  expect(doc!.dissatisfiedResponses).toBe(1);
  expect(await redis.get(epochKey(prefix, 'U3', day))).toBe(String(second.version));
});

test('an excluded response leaves every count and is counted as excluded', async () => {
  const day = '2025-04-01';
  const r = await Response.findOne({ unitCode: 'U3', dissatisfied: true }).lean();
  await Response.updateOne(
    { responseId: r!.responseId },
    { $set: { excluded: { at: new Date(), by: 'admin', reason: 'test' } } },
  );
  await recomputeBucket({ redis, prefix }, 'U3', day);
  const doc = await Rollup.findOne({ unitCode: 'U3', day }).lean();
  expect(doc).toMatchObject({ responses: 1, dissatisfiedResponses: 0, excluded: 1 });
  expect(doc!.total.every((c) => c.dissatisfied === 0)).toBe(true);
  expect(hcmDay(new Date('2025-03-31T17:00:00Z'))).toBe(day);
});

test('answers recorded turn by turn are stamped with the unit and the Vietnam day when the response completes', async () => {
  const c = completion('U4', '2025-05-01T18:00:00.000Z', [5, 4, 2, 5, 5, 5]);
  // Recorded turn by turn first (the answers.record path), one of them with a value the citizen changed later...
  for (const a of c.answers)
    await answerBatcher.add({
      responseId: c.responseId,
      meta: c.meta,
      answer: a.questionId === 'q3' ? { ...a, value: 5 } : a,
      answeredAt: new Date('2025-05-01T17:50:00.000Z'),
    });
  // ...and one answer that the completion payload does not carry.
  await answerBatcher.add({
    responseId: c.responseId,
    meta: c.meta,
    answer: { questionId: 'extra', element: null, type: 'text', value: null, text: 'x' },
    answeredAt: new Date('2025-05-01T17:55:00.000Z'),
  });
  expect(await Answer.countDocuments({ responseId: c.responseId, day: null })).toBe(7);

  await storeCompletion(c.responseId, c.meta, c.answers, new Date(c.completedAt));
  await storeCompletion(c.responseId, c.meta, c.answers, new Date(c.completedAt)); // a retried job
  const stored = await Answer.find({ responseId: c.responseId }).lean();
  expect(stored).toHaveLength(7);
  // 18:00 UTC is 01:00 the next day in Huế.
  expect(stored.every((a) => a.unitCode === 'U4' && a.day === '2025-05-02')).toBe(true);
  expect(stored.find((a) => a.questionId === 'q3')!.value).toBe(2);

  await recomputeBucket({ redis, prefix }, 'U4', '2025-05-02');
  const doc = await Rollup.findOne({ unitCode: 'U4', day: '2025-05-02' }).lean();
  expect(doc).toMatchObject({ responses: 1, dissatisfiedResponses: 1 });
  expect(doc!.total.find((cell) => cell.element === 'CONG_CHUC')).toMatchObject({
    n: 1,
    satisfied: 0,
    dissatisfied: 1,
  });
});

test('answers stored before the stamp are found again after `rollups backfill`, and the rebuild counts them', async () => {
  const a = completion('U5', '2025-06-10T03:00:00.000Z', [5, 5, 1, 5, 0, 4]);
  const b = completion('U5', '2025-06-11T03:00:00.000Z', [4, 4, 4, 4, 4, 4]);
  for (const c of [a, b]) await storeCompletion(c.responseId, c.meta, c.answers, new Date(c.completedAt));
  await rebuildRollups({ redis, prefix }, '2025-06-10', '2025-06-11');
  const expected = await Rollup.find({ unitCode: 'U5' }, { _id: 0, version: 0, computedAt: 0, __v: 0 })
    .sort({ day: 1 })
    .lean();
  expect(expected.map((d) => d.responses)).toEqual([1, 1]);

  // Legacy data: answers without unit and day (as stored before this field existed).
  await Answer.collection.updateMany(
    { responseId: { $in: [a.responseId, b.responseId] } },
    { $unset: { unitCode: '', day: '' } },
  );
  await rebuildRollups({ redis, prefix }, '2025-06-10', '2025-06-11');
  const blind = await Rollup.findOne({ unitCode: 'U5', day: '2025-06-10' }).lean();
  expect(blind!.total).toEqual([]);

  const r = await backfillAnswerBuckets('2025-06-10', '2025-06-11');
  expect(r).toEqual({ responses: 2, answers: 12 });
  expect(await backfillAnswerBuckets('2025-06-10', '2025-06-11')).toEqual({ responses: 2, answers: 0 });
  // The same through the command line: nothing left to stamp.
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['rollups', 'backfill', '--from', '2025-06-10', '--to', '2025-06-11'], { from: 'user' });
    expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
      /stamped 0 answers of 2 completed responses/,
    );
  } finally {
    log.mockRestore();
  }
  const rb = await rebuildRollups({ redis, prefix }, '2025-06-10', '2025-06-11');
  expect(rb).toMatchObject({ units: 1, days: 2, buckets: 2, stale: 0, responses: 2 });
  expect(
    await Rollup.find({ unitCode: 'U5' }, { _id: 0, version: 0, computedAt: 0, __v: 0 })
      .sort({ day: 1 })
      .lean(),
  ).toEqual(expected);
});

test('a period sums month totals for whole months and days at its edges: the same figures as summing every day', async () => {
  const days = [
    '2025-01-31',
    '2025-02-01',
    '2025-02-15',
    '2025-02-28',
    '2025-03-01',
    '2025-03-10',
    '2025-12-31',
  ];
  const values = [
    [5, 5, 5, 5, 5, 5],
    [1, 2, 4, 5, 0, 3],
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 2, 2, 2],
    [5, 4, 0, 5, 5, 5],
    [3, 5, 5, 1, 5, 4],
    [5, 5, 5, 5, 5, 1],
  ];
  for (const [i, day] of days.entries()) {
    // 03:00 UTC is 10:00 the same day in Huế; two responses a day, from two units.
    for (const unit of ['U6', 'U7']) {
      const c = completion(unit, `${day}T03:00:00.000Z`, values[i]!);
      await storeCompletion(c.responseId, c.meta, c.answers, new Date(c.completedAt));
    }
  }
  await rebuildRollups({ redis, prefix }, '2025-01-01', '2025-12-31');
  for (const unitCode of ['U6', 'U7']) {
    expect(await Rollup.countDocuments({ unitCode })).toBe(7);
    expect((await RollupMonth.find({ unitCode }).lean()).map((m) => m.month).sort()).toEqual([
      '2025-01',
      '2025-02',
      '2025-03',
      '2025-12',
    ]);
  }
  expect(await RollupMonth.findById('U6|2025-02').lean()).toMatchObject({
    unitCode: 'U6',
    month: '2025-02',
    days: 3,
    responses: 3,
    dissatisfiedResponses: 2,
  });

  const ranges: Array<[string, string]> = [
    ['2025-01-01', '2025-12-31'], // whole months only
    ['2025-02-01', '2025-02-28'], // one whole month
    ['2025-01-31', '2025-03-01'], // a day at each edge, a whole month between
    ['2025-02-15', '2025-02-15'], // one day
    ['2025-02-10', '2025-03-05'], // two partial months
    ['2024-12-01', '2025-01-30'], // nothing
  ];
  for (const [from, to] of ranges) {
    const viaMonths = sumTotals(await loadTotals(['U6', 'U7'], from, to));
    const viaDays = sumTotals(await loadRollups(['U6', 'U7'], from, to));
    expect({ from, to, ...viaMonths }).toEqual({ from, to, ...viaDays });
  }
  expect(sumTotals(await loadTotals(['U6', 'U7'], '2025-01-01', '2025-12-31')).responses).toBe(14);
  expect(sumTotals(await loadTotals(['U6'], '2025-01-31', '2025-03-01')).responses).toBe(5);
});

test('a report’s breakdowns from month figures equal the days’, also for a month written before they were kept', async () => {
  // The data of the test above: U6 and U7, seven days over four months of 2025.
  const ranges: Array<[string, string]> = [
    ['2025-01-01', '2025-12-31'],
    ['2025-01-31', '2025-03-01'],
    ['2025-02-10', '2025-03-05'],
  ];
  const figures = async (docs: PeriodRollup[]) => ({
    totals: sumTotals(docs),
    months: [...new Set(docs.map((d) => d.month))].sort(),
    byProcedure: [...sumGroups(docs, (d) => d.byProcedure)].sort(),
    byOfficer: [...sumGroups(docs, (d) => d.byOfficer)].sort(),
    byChannel: [...sumGroups(docs, (d) => d.byChannel)].sort(),
  });
  const check = async () => {
    for (const [from, to] of ranges) {
      const viaMonths = await figures(await loadBreakdowns(['U6', 'U7'], from, to));
      const viaDays = await figures(await loadRollups(['U6', 'U7'], from, to));
      expect({ from, to, ...viaMonths }).toEqual({ from, to, ...viaDays });
    }
  };
  const year = await figures(await loadBreakdowns(['U6', 'U7'], '2025-01-01', '2025-12-31'));
  expect(year.totals.responses).toBe(14);
  expect(year.months).toEqual(['2025-01', '2025-02', '2025-03', '2025-12']);
  expect([...year.byChannel.values()].reduce((n, [, g]) => n + g.responses, 0)).toBe(14);
  await check();
  // A month document without breakdowns (written before they were kept): its days are read.
  await RollupMonth.updateOne({ _id: 'U6|2025-02' }, { $set: { breakdowns: null } });
  await check();
  await RollupMonth.deleteOne({ _id: 'U7|2025-03' });
  await check();
  // Several months of one unit without their documents: their days are read in one query.
  await RollupMonth.deleteMany({ _id: { $in: ['U6|2025-01', 'U6|2025-03', 'U6|2025-12'] } });
  await check();
  expect(
    (await figures(await loadBreakdowns(['U6', 'U7'], '2025-01-01', '2025-12-31'))).totals.responses,
  ).toBe(14);
  await Promise.all(
    ['2025-01', '2025-02', '2025-03', '2025-12'].flatMap((m) => [
      recomputeMonth({ redis, prefix }, 'U6', m),
      recomputeMonth({ redis, prefix }, 'U7', m),
    ]),
  );
});

test('month breakdowns are written deflated, and a month in the plain JSON written before reads the same', async () => {
  // The data above: U6's January 2025 has one day, its February three.
  await recomputeMonth({ redis, prefix }, 'U6', '2025-02');
  const stored = async () =>
    (await RollupMonth.findById('U6|2025-02', { breakdowns: 1 }).lean<{ breakdowns: string }>())!.breakdowns;
  const deflated = await stored();
  expect(deflated.startsWith('dr1:')).toBe(true);
  const days = await loadRollups(['U6'], '2025-02-01', '2025-02-28');
  const fromDays = (docs: PeriodRollup[]) => ({
    byProcedure: [...sumGroups(docs, (d) => d.byProcedure)].sort(),
    byOfficer: [...sumGroups(docs, (d) => d.byOfficer)].sort(),
    byChannel: [...sumGroups(docs, (d) => d.byChannel)].sort(),
  });
  const month = unpackBreakdowns(deflated);
  expect(JSON.stringify(month).length).toBeGreaterThan(deflated.length);
  expect(fromDays([{ ...days[0]!, ...month }])).toEqual(fromDays(days));
  const viaMonth = async () => fromDays(await loadBreakdowns(['U6'], '2025-02-01', '2025-02-28'));
  expect(await viaMonth()).toEqual(fromDays(days));
  // The same month as written before: plain JSON text, read by the same decoder.
  await RollupMonth.updateOne({ _id: 'U6|2025-02' }, { $set: { breakdowns: JSON.stringify(month) } });
  expect((await stored()).startsWith('{')).toBe(true);
  expect(await viaMonth()).toEqual(fromDays(days));
  // A text in neither format is refused by name, not read as empty figures.
  await RollupMonth.updateOne({ _id: 'U6|2025-02' }, { $set: { breakdowns: 'garbage' } });
  await expect(viaMonth()).rejects.toThrow(/unknown format/);
  expect(() => unpackBreakdowns('dr2:AAAA')).toThrow(/unknown format/);
  const compact = (json: string) => `dr1:${deflateRawSync(json).toString('base64')}`;
  // A cell index past the month's list of cells: refused, not read as a cell of nothing.
  expect(() =>
    unpackBreakdowns(
      compact('{"cells":[],"byProcedure":[["P1",1,0,[7,1,1,0,0]]],"byOfficer":[],"byChannel":[]}'),
    ),
  ).toThrow(/malformed/);
  expect(() => unpackBreakdowns(compact('{"byProcedure":[]}'))).toThrow(/malformed/);
  // The next month job writes the deflated form again.
  await recomputeMonth({ redis, prefix }, 'U6', '2025-02');
  expect((await stored()).startsWith('dr1:')).toBe(true);
  expect(await viaMonth()).toEqual(fromDays(days));
});

test('month totals follow the same version rule as days: a slower, older run never overwrites a newer one', async () => {
  const newer = await recomputeMonth({ redis, prefix }, 'U6', '2025-02');
  expect(newer).toMatchObject({ written: true, days: 3 });
  expect(await redis.get(monthEpochKey(prefix, 'U6', '2025-02'))).toBe(String(newer.version));
  // An older run's read (no days) lands after: refused, the document keeps the newer sum.
  expect(await writeMonth('U6', '2025-02', newer.version - 1, [], { completed: 0, bad: 0 }, new Date())).toBe(
    false,
  );
  expect(await RollupMonth.findById('U6|2025-02').lean()).toMatchObject({
    version: newer.version,
    days: 3,
    responses: 3,
  });
});
