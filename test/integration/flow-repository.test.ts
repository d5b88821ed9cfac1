import mongoose from 'mongoose';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Flow as FlowModel } from '../../models/flow';
import { FlowAssignment } from '../../models/flow-assignment';
import { Unit } from '../../models/unit';
import { connectTestDb, dropTestDb, mongoUri } from '../support/services';
import { until } from '../support/until';

/** Reads of the flows collection, counted from the driver's command log. */
let flowReads = 0;
let dbName: string;

beforeAll(async () => {
  dbName = await connectTestDb('flowrepo');
  mongoose.set('debug', (collection: string, method: string) => {
    if (collection === 'flows' && method.startsWith('find')) flowReads++;
  });
});

afterAll(async () => {
  mongoose.set('debug', false);
  await dropTestDb();
});

test('200 surveys starting at once read the latest flow once, and a version published here is used at once', async () => {
  const repo = new FlowRepository(60_000);
  await repo.ensure(defaultFlow);
  flowReads = 0;
  const flows = await Promise.all(Array.from({ length: 200 }, () => repo.latestPublished(defaultFlow.key)));
  expect(new Set(flows.map((f) => f.version))).toEqual(new Set([defaultFlow.version]));
  // One read of the latest version number, one of that version's definition.
  expect(flowReads).toBe(2);

  const next = await repo.publish({ ...defaultFlow, version: 1 }, 'admin');
  expect(next.version).toBe(defaultFlow.version + 1);
  expect((await repo.latestPublished(defaultFlow.key)).version).toBe(next.version);
});

test('a version published elsewhere whose announcement was lost is picked up by a renewal', async () => {
  // Its own clock, stepped by hand: a slow publish under load cannot outlast the time to live.
  let clock = 1_000_000;
  const other = new FlowRepository(300, () => clock);
  const before = (await other.latestPublished(defaultFlow.key)).version;
  // Straight to the collection, as another process whose bus message never arrived
  // (test/integration/flow-live-bus.test.ts covers the message).
  const published = { version: before + 1 };
  await FlowModel.create({
    key: defaultFlow.key,
    version: published.version,
    status: 'published',
    definition: { ...defaultFlow, version: published.version },
    publishedAt: new Date(),
    createdBy: 'admin',
  });
  // Still the cached answer in the first half of the time to live, with no lookup begun…
  clock += 150;
  flowReads = 0;
  expect((await other.latestPublished(defaultFlow.key)).version).toBe(before);
  expect(flowReads).toBe(0);
  // …then a start renews it, and the starts after the renewal get the new version.
  clock += 1;
  await until(
    async () => (await other.latestPublished(defaultFlow.key)).version === published.version,
    'the renewed latest version',
  );
});

test('a flow archived behind the process’s back: the renewal that finds nothing published drops the version known', async () => {
  let clock = 3_000_000;
  const key = 'fr-archived';
  const repo = new FlowRepository(300, () => clock);
  await repo.ensure({ ...defaultFlow, key });
  expect((await repo.latestPublished(key)).key).toBe(key);
  // A direct database edit, with no announcement: no process is told.
  await FlowModel.updateMany({ key }, { $set: { status: 'archived' } });
  // Past half the time to live, a start still gets the version known and begins a renewal…
  clock += 151;
  expect((await repo.latestPublished(key)).key).toBe(key);
  // …which finds nothing published: the starts after it are refused, not given the archived flow.
  await until(
    () =>
      repo.latestPublished(key).then(
        () => false,
        (err: Error) => err.message.includes('no published version'),
      ),
    'the renewal that finds no published version',
  );
});

test('a survey start long past the time to live gets the flow known at once: it never waits for the database', async () => {
  let clock = 2_000_000;
  const repo = new FlowRepository(300, () => clock);
  await repo.ensure(defaultFlow);
  // A unit-specific assignment, so that the start walks the unit's chain too.
  await Unit.create({ code: 'FR-UNIT', name: 'Xã Thử', level: 'commune' });
  await FlowAssignment.create({
    unitCode: 'FR-UNIT',
    flowKey: defaultFlow.key,
    version: defaultFlow.version,
    assignedBy: 'admin',
  });
  const target = { unitCode: 'FR-UNIT', procedureCode: null };
  const known = await repo.live(defaultFlow.key, target);
  const latest = await repo.latestPublished(defaultFlow.key);
  // A quiet spell far longer than the time to live, then a burst of starts while the database
  // does not answer (behind the workers' writes on a loaded server; here: no connection at all).
  clock += 3_600_000;
  await mongoose.disconnect();
  try {
    const starts = await Promise.all([
      repo.live(defaultFlow.key, target),
      repo.live(defaultFlow.key, null),
      repo.latestPublished(defaultFlow.key),
    ]);
    expect(starts.map((f) => f.version)).toEqual([known.version, latest.version, latest.version]);
  } finally {
    await mongoose.connect(mongoUri(), { dbName });
  }
});

test('a version that is not published is an error, and the error is not cached', async () => {
  const repo = new FlowRepository();
  await expect(repo.get(defaultFlow.key, 999)).rejects.toThrow('is not published');
  await expect(repo.latestPublished('no-such-flow')).rejects.toThrow(
    'no published version of flow "no-such-flow"',
  );
  await expect(repo.latestPublished('no-such-flow')).rejects.toThrow('no published version');
});
