import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { parseEnv } from '../../config/env';
import { buildsIndexesAtStart, missingIndexes } from '../../lib/db/indexes';
import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { Rollup } from '../../models/rollup';
import { Unit } from '../../models/unit';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { buildReport } from '../../indices/report';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { runHailongHere } from '../support/cli';
import { uriWithDb } from '../support/app';
import { meta, scale } from '../support/ingest';
import { clearPrefix, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * `hailong db indexes` and `db check` on a database nobody built indexes on, and the restore
 * drill of docs/operations.md: dump, drop the database, restore, and the report's figures (read
 * from the restored rollups, not recomputed) and the indexes are what they were.
 */
jest.setTimeout(120_000);
const redis = testRedis();
const prefix = testPrefix('dbdrill');
const uri = uriWithDb(uniqueName('dbdrill'));
const now = new Date('2025-03-20T03:00:00Z');

const figures = async () => {
  const r = await buildReport({ unit: 'U1', period: '2025-03', units: null, officerMinN: 1, now });
  return { responses: r.responses, elements: r.elements, overall: r.overall, responseRate: r.responseRate };
};

beforeAll(async () => {
  // A plain connection without autoIndex (as lib/mongo.ts connects): nothing builds indexes here
  // but the commands under test.
  mongoose.set('autoIndex', false);
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 5000 });
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

test('production does not build indexes at start unless told; development and tests do', () => {
  const base = { ...process.env, PHONE_HASH_KEY: 'a-long-enough-secret-key' };
  expect(buildsIndexesAtStart(parseEnv({ ...base, NODE_ENV: 'production' }))).toBe(false);
  expect(
    buildsIndexesAtStart(parseEnv({ ...base, NODE_ENV: 'production', MONGO_BUILD_INDEXES: 'true' })),
  ).toBe(true);
  expect(buildsIndexesAtStart(parseEnv({ ...base, NODE_ENV: 'development' }))).toBe(true);
  expect(buildsIndexesAtStart(parseEnv({ ...base, NODE_ENV: 'test' }))).toBe(true);
});

test('db check fails on a database without the indexes; db indexes builds and reports them; then db check passes', async () => {
  const before = await runHailongHere(['db', 'check']);
  expect(before.code).toBe(1);
  expect(before.stdout).toMatch(/THIẾU \/ MISSING index: responses \{"responseId":1\} unique/);
  expect(before.stdout).toMatch(/OK {3}unique index refuses a duplicate/);

  const built = await runHailongHere(['db', 'indexes']);
  expect(built.code).toBe(0);
  expect(built.stdout).toMatch(/^\+ responses responseId_1$/m);
  expect(built.stdout).toMatch(/^\+ dossiers code_1$/m);
  const created = Number(/created (\d+) index/.exec(built.stdout)?.[1]);
  expect(created).toBeGreaterThan(20);

  const again = await runHailongHere(['db', 'indexes']);
  expect(again.stdout).toMatch(/created 0 index/);
  const after = await runHailongHere(['db', 'check']);
  expect(after.stdout).toContain('indexes: all present');
  expect(after.code).toBe(0);
});

test('restore drill: dump, drop the database, restore; the report figures and the indexes match', async () => {
  await Unit.create({ code: 'U1', name: 'Xã Quảng Thái', level: 'commune' });
  const ratings = [
    [5, 4],
    [2, 1],
    [4, 0],
    [5, 5],
  ];
  for (const [i, [q1, q6]] of ratings.entries()) {
    const code = `DRILL-${i}`;
    await Dossier.create({
      code,
      procedureCode: 'P1',
      unitCode: 'U1',
      channel: 'in_person',
      status: 'finished',
      finishedAt: now,
    });
    await storeCompletion(
      `resp-drill-${i}`,
      meta({
        dossierCode: code,
        unitCode: 'U1',
        procedureCode: 'P1',
        officerId: 'A',
        flowVersion: 2,
        startedAt: now.toISOString(),
      }),
      [scale('q1', 'TIEP_CAN', q1!), { ...scale('q6', 'TONG_THE', q6!), text: i === 1 ? 'Chờ lâu' : null }],
      now,
    );
  }
  await Dossier.create({
    code: 'DRILL-NR',
    procedureCode: 'P1',
    unitCode: 'U1',
    channel: 'online',
    status: 'finished',
    finishedAt: now,
  });
  await rebuildRollups({ redis, prefix });
  const before = await figures();
  expect(before.responses).toBe(4);
  const counts = {
    responses: await Response.countDocuments(),
    answers: await Answer.countDocuments(),
    rollups: await Rollup.countDocuments(),
  };

  const dir = await mkdtemp(path.join(tmpdir(), 'hl-dump-'));
  expect((await runHailongHere(['db', 'dump', dir])).code).toBe(0);
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
    collections: Record<string, number>;
  };
  expect(manifest.collections).toMatchObject({ responses: 4, answers: 8, dossiers: 5 });
  // A line keeps the types: dates and ObjectIds in canonical Extended JSON.
  expect(await readFile(path.join(dir, 'responses.ejson'), 'utf8')).toMatch(/"startedAt":\{"\$date":/);

  await mongoose.connection.dropDatabase();
  expect(await Response.countDocuments()).toBe(0);
  expect((await runHailongHere(['db', 'check'])).code).toBe(1);

  const restored = await runHailongHere(['db', 'restore', dir]);
  expect(restored).toMatchObject({ code: 0, stderr: '' });
  expect({
    responses: await Response.countDocuments(),
    answers: await Answer.countDocuments(),
    rollups: await Rollup.countDocuments(),
  }).toEqual(counts);
  expect(await figures()).toEqual(before);
  expect(await missingIndexes()).toEqual([]);
  expect((await Response.findOne({ responseId: 'resp-drill-0' }).lean())?.completedAt).toBeInstanceOf(Date);

  // A second restore onto the restored data is refused: it would mix two states.
  const twice = await runHailongHere(['db', 'restore', dir]);
  expect(twice.code).toBe(1);
  expect(twice.stderr).toMatch(/not empty; use --drop/);
  expect((await runHailongHere(['db', 'restore', dir, '--drop'])).code).toBe(0);
  expect(await figures()).toEqual(before);
});
