import mongoose from 'mongoose';
import { assign } from '../../bot/flow/assignments';
import { DEFAULT_FLOW_VERSIONS, defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { FlowAssignment } from '../../models/flow-assignment';
import { seedUnits } from '../support/api';
import { connectTestDb, dropTestDb } from '../support/services';
import { until } from '../support/until';

/** Reads of the assignments and units collections, counted from the driver's command log. */
let reads = 0;

beforeAll(async () => {
  await connectTestDb('flowlive');
  await seedUnits();
  for (const f of DEFAULT_FLOW_VERSIONS) await new FlowRepository().ensure(f);
  mongoose.set('debug', (collection: string, method: string) => {
    if ((collection === 'flowassignments' || collection === 'units') && method.startsWith('find')) reads++;
  });
});
afterAll(async () => {
  mongoose.set('debug', false);
  await dropTestDb();
});

const dossier = { unitCode: '19870', procedureCode: '1.001234' };

test('the live version of a unit is read once per time to live; a change in this process is seen at once, one from another process after a renewal', async () => {
  let clock = 0;
  const repo = new FlowRepository(1000, () => clock);
  // Nothing assigned: the latest published version.
  expect((await repo.live('default', dossier)).version).toBe(defaultFlow.version);

  await assign({ unitCode: 'QD-DAN-DIEN', procedureCode: null, flowKey: 'default', version: 1 }, 'test');
  expect((await repo.live('default', dossier)).version).toBe(1);
  reads = 0;
  for (let i = 0; i < 50; i++) await repo.live('default', dossier);
  expect(reads).toBe(0);

  // Another process's change (written straight to the collection): seen once a start past half
  // the time to live has renewed what is cached (that start and those before the renewal is back
  // get what was known: none waits for the database).
  await FlowAssignment.updateOne({ unitCode: 'QD-DAN-DIEN', procedureCode: '' }, { $set: { version: 2 } });
  expect((await repo.live('default', dossier)).version).toBe(1);
  clock += 1001;
  await until(async () => (await repo.live('default', dossier)).version === 2, 'the renewed assignment');
  // ...by reading the assignments and the unit's chain again (the counter does count).
  expect(reads).toBeGreaterThan(0);
  // A survey without a dossier takes every unit's choice (none here: the latest).
  expect((await repo.live('default', null)).version).toBe(defaultFlow.version);
});
