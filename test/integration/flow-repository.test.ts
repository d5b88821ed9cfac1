import mongoose from 'mongoose';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Flow as FlowModel } from '../../models/flow';
import { connectTestDb, dropTestDb } from '../support/services';

/** Reads of the flows collection, counted from the driver's command log. */
let flowReads = 0;

beforeAll(async () => {
  await connectTestDb('flowrepo');
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

test('a version published elsewhere whose announcement was lost is picked up within the time to live', async () => {
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
  // Still the cached answer inside the time to live…
  clock += 300;
  expect((await other.latestPublished(defaultFlow.key)).version).toBe(before);
  clock += 1;
  // …the new version after it.
  expect((await other.latestPublished(defaultFlow.key)).version).toBe(published.version);
});

test('a version that is not published is an error, and the error is not cached', async () => {
  const repo = new FlowRepository();
  await expect(repo.get(defaultFlow.key, 999)).rejects.toThrow('is not published');
  await expect(repo.latestPublished('no-such-flow')).rejects.toThrow(
    'no published version of flow "no-such-flow"',
  );
  await expect(repo.latestPublished('no-such-flow')).rejects.toThrow('no published version');
});
