import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { Flow } from '../../models/flow';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { defaultFlow } from '../../bot/flow/default-flow';
import { runSeed } from '../../cli/commands/seed';
import { SEED_UNITS, SUCCESSORS } from '../../cli/seed-data/units';
import { hcmDay } from '../../lib/time';
import { buildReport } from '../../indices/report';
import { uriWithDb } from '../support/app';
import {
  clearPrefix,
  connectTestDb,
  dropTestDb,
  redisUrl,
  testPrefix,
  testRedis,
  uniqueName,
} from '../support/services';

const redis = testRedis();
const prefix = testPrefix('seed');

beforeAll(async () => {
  await connectTestDb('seed');
});
afterAll(async () => {
  await dropTestDb();
  await clearPrefix(redis, prefix);
  redis.disconnect();
});

const NOW = new Date('2025-10-15T05:00:00Z');

test('seeds the Quảng Điền units with validity and successors, procedures and the default flow', async () => {
  const report = await runSeed();
  expect(report).toMatchObject({ units: SEED_UNITS.length, procedures: 12, flowInserted: true });

  expect(await Unit.findOne({ code: '477' }).lean()).toMatchObject({
    name: 'Huyện Quảng Điền',
    level: 'district',
    parentCode: '46',
  });
  const communes = await Unit.find({ parentCode: '477' }).lean();
  expect(communes).toHaveLength(11);
  for (const c of communes) {
    expect(hcmDay(c.validTo!)).toBe('2025-06-30');
    expect(Object.values(SUCCESSORS)).toContain(c.successorCode);
  }
  expect(await Unit.findOne({ code: '19891' }).lean()).toMatchObject({
    name: 'Xã Quảng Thành',
    successorCode: SUCCESSORS.hoaChau,
  });
  const successors = await Unit.find({ code: { $in: Object.values(SUCCESSORS) } }).lean();
  expect(successors).toHaveLength(4);
  for (const s of successors) expect(hcmDay(s.validFrom!)).toBe('2025-07-01');

  const flow = await Flow.findOne({ key: 'default', version: 1 }).lean();
  expect(flow).toMatchObject({ status: 'published' });
  expect((flow!.definition as { nodes: unknown[] }).nodes).toHaveLength(defaultFlow.nodes.length);
});

test('a second run changes nothing and never touches the published flow', async () => {
  // Mark the stored version: a re-seed must not rewrite it.
  await Flow.collection.updateOne({ key: 'default', version: 1 }, { $set: { createdBy: 'someone' } });
  const counts = async () => [
    await Unit.countDocuments(),
    await Procedure.countDocuments(),
    await Flow.countDocuments(),
  ];
  const before = await counts();
  const report = await runSeed();
  expect(report).toMatchObject({ units: 0, procedures: 0, flowInserted: false });
  expect(await counts()).toEqual(before);
  expect(await Flow.findOne({ key: 'default', version: 1 }).lean()).toMatchObject({ createdBy: 'someone' });
});

test('--demo adds completed responses over the last 60 days, once', async () => {
  const first = await runSeed({ demo: { rollups: { redis, prefix }, now: NOW, demoCount: 60 } });
  expect(first.demoResponses).toBeGreaterThan(40);
  expect(first.demoDossiers).toBe(first.demoResponses);
  const responses = await Response.find({ responseId: /^demo-/ }).lean();
  expect(responses).toHaveLength(first.demoResponses);
  const answers = await Answer.countDocuments({ responseId: /^demo-/ });

  for (const r of responses) {
    expect(r.status).toBe('completed');
    expect(r.completedAt!.getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(r.completedAt!.getTime()).toBeGreaterThan(NOW.getTime() - 62 * 86400_000);
    expect(r.day).toBe(hcmDay(r.completedAt!));
    expect(Object.values(SUCCESSORS)).toContain(r.unitCode);
  }
  // A plausible mix: some dissatisfied responses, mostly satisfied ones.
  const unhappy = responses.filter((r) => r.dissatisfied).length;
  expect(unhappy).toBeGreaterThan(0);
  expect(unhappy).toBeLessThan(responses.length / 2 + 1);
  // Every response has the six element questions, and the "why?" after a 1 or 2.
  const sample = await Answer.find({ responseId: responses[0].responseId }).lean();
  expect(
    sample
      .filter((a) => a.type === 'scale5')
      .map((a) => a.element)
      .sort(),
  ).toEqual(['CONG_CHUC', 'KET_QUA', 'PAKN', 'TIEP_CAN', 'TONG_THE', 'TTHC']);
  const low = await Answer.find({
    responseId: /^demo-/,
    type: 'scale5',
    value: { $in: [1, 2] },
    questionId: 'q1',
  }).lean();
  for (const a of low)
    expect(await Answer.exists({ responseId: a.responseId, questionId: 'r1' })).not.toBeNull();

  const dossier = await Dossier.findOne({ code: responses[0].dossierCode }).lean();
  expect(dossier).toMatchObject({
    source: 'demo',
    status: 'returned',
    survey: { responseId: responses[0].responseId },
  });

  const again = await runSeed({
    demo: { rollups: { redis, prefix }, now: new Date(NOW.getTime() + 86400_000), demoCount: 60 },
  });
  expect(again).toMatchObject({ demoDossiers: 0, demoResponses: 0 });
  expect(await Response.countDocuments({ responseId: /^demo-/ })).toBe(responses.length);
  expect(await Answer.countDocuments({ responseId: /^demo-/ })).toBe(answers);
});

test('--demo builds the rollups: the report right after seeding counts every demo response', async () => {
  // The demo test above seeded 2025-08-16..2025-10-15; the province covers every demo unit.
  const seeded = await Response.countDocuments({
    responseId: /^demo-/,
    day: { $gte: '2025-01-01', $lte: '2025-12-31' },
  });
  expect(seeded).toBeGreaterThan(40);
  const report = await buildReport({ unit: '46', period: '2025', units: null, officerMinN: 5 });
  expect(report.responses).toBe(seeded);
  expect(report.overall.n).toBeGreaterThan(0);
  expect(report.responseRate.numerator).toBe(seeded);
  const month = await buildReport({
    unit: SUCCESSORS.danDien,
    period: '2025-09',
    units: null,
    officerMinN: 5,
  });
  expect(month.responses).toBe(
    await Response.countDocuments({ responseId: /^demo-/, unitCode: SUCCESSORS.danDien, day: /^2025-09/ }),
  );
});

test('`hailong seed --demo` prints only its summary on stdout, and `hailong report` then shows the demo', async () => {
  const run = promisify(execFile);
  const dbName = uniqueName('seedcli');
  const childPrefix = testPrefix('seedcli');
  const env = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: childPrefix,
  };
  const hailong = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../bin/hailong.ts'), ...args], {
      env,
      timeout: 240_000,
    });
  const conn = mongoose.createConnection(uriWithDb(dbName));
  try {
    const seed = await hailong('seed', '--demo');
    expect(seed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^seed: \d+ new units, .*, (\d+) demo responses; rollups rebuilt from \1 responses over \d+ days$/,
      ),
    ]);
    const demoResponses = Number(/(\d+) demo responses/.exec(seed.stdout)![1]);
    expect(demoResponses).toBeGreaterThan(200);

    const responses = conn.collection('responses');
    const latest = await responses.find({ unitCode: SUCCESSORS.danDien }).sort({ day: -1 }).limit(1).next();
    const year = String(latest!.day).slice(0, 4);
    const expected = await responses.countDocuments({
      unitCode: SUCCESSORS.danDien,
      day: { $gte: `${year}-01-01`, $lte: `${year}-12-31` },
    });
    const report = await hailong(
      'report',
      '--unit',
      SUCCESSORS.danDien,
      '--period',
      year,
      '--format',
      'json',
    );
    const body = JSON.parse(report.stdout) as { responses: number; overall: { n: number } };
    expect(body.responses).toBe(expected);
    expect(body.overall.n).toBeGreaterThan(0);
  } finally {
    await conn.dropDatabase();
    await conn.close();
    await clearPrefix(redis, childPrefix);
  }
  // Two child processes on the real write path (about 300 responses and their rollups): tens of
  // seconds on a loaded 2-core machine, so more than jest's default minute.
}, 180_000);
