import mongoose from 'mongoose';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { Unit } from '../../models/unit';
import { uriWithDb } from '../support/app';
import { uniqueName } from '../support/services';

/**
 * The replica-set options of deploy/docker-compose.yml's MONGODB_URI (docs/operations.md): the
 * app connects with them and its writes are acknowledged. The test server is one FerretDB node,
 * so neither a majority of several members nor a step-down is exercised here.
 */
const uri = new URL(uriWithDb(uniqueName('wconcern')));
uri.searchParams.set('w', 'majority');
uri.searchParams.set('retryWrites', 'true');
uri.searchParams.set('readPreference', 'primary');

afterAll(async () => {
  await mongoose.connection.dropDatabase();
  await disconnectMongo();
});

test('connects with w=majority&retryWrites=true&readPreference=primary and writes, upserts and reads', async () => {
  await connectMongo(uri.toString());
  const client = mongoose.connection.getClient();
  expect(client.options.writeConcern?.w).toBe('majority');
  expect(client.options.retryWrites).toBe(true);
  await Unit.syncIndexes();
  await Unit.create({ code: 'WC-1', name: 'Xã Thử', level: 'commune' });
  // An upsert by the unique key twice (a retried job): one document.
  for (let i = 0; i < 2; i++)
    await Unit.updateOne(
      { code: 'WC-2' },
      { $setOnInsert: { code: 'WC-2', name: 'Xã Hai', level: 'commune' } },
      { upsert: true },
    );
  expect(await Unit.countDocuments({ code: { $in: ['WC-1', 'WC-2'] } })).toBe(2);
});
