import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey, onlyDuplicateKeys, retryOnDuplicate } from '../../lib/mongo';
import { connectTestDb, dropTestDb } from '../support/services';

/** The duplicate-key helpers read the errors the real server and driver produce. */
const Thing = mongoose.model(
  'DupThing',
  new Schema({ k: { type: String, required: true, unique: true }, n: { type: Number, required: true } }),
);

beforeAll(async () => {
  await connectTestDb('dups');
  await Thing.syncIndexes();
});
afterAll(dropTestDb);

test('a single insert on a taken key is a duplicate; another failure is not', async () => {
  await Thing.create({ k: 'a', n: 1 });
  const dup = await Thing.create({ k: 'a', n: 2 }).catch((e: unknown) => e);
  expect(isDuplicateKey(dup)).toBe(true);
  const invalid = await Thing.create({ k: 'b' }).catch((e: unknown) => e);
  expect(invalid).toBeInstanceOf(Error);
  expect(isDuplicateKey(invalid)).toBe(false);
  expect(isDuplicateKey(null)).toBe(false);
});

test('an unordered bulk insert refused only on taken keys counts them; nothing else is hidden', async () => {
  await Thing.create({ k: 'c', n: 1 });
  await Thing.create({ k: 'd', n: 1 });
  const replay = await Thing.insertMany(
    [
      { k: 'c', n: 1 },
      { k: 'd', n: 1 },
      { k: 'e', n: 1 },
    ],
    { ordered: false },
  ).catch((e: unknown) => e);
  expect(onlyDuplicateKeys(replay)).toBe(2);
  expect(await Thing.countDocuments({ k: 'e' })).toBe(1);
  expect(onlyDuplicateKeys(new Error('connection reset'))).toBeNull();
});

test('retryOnDuplicate runs the write again after a duplicate, and gives up on other errors at once', async () => {
  let calls = 0;
  const n = await retryOnDuplicate(async () => {
    calls++;
    if (calls === 1) await Thing.create({ k: 'a', n: 9 });
    return Thing.countDocuments({ k: 'a' });
  });
  expect([calls, n]).toEqual([2, 1]);
  calls = 0;
  await expect(
    retryOnDuplicate(async () => {
      calls++;
      throw new Error('network');
    }),
  ).rejects.toThrow('network');
  expect(calls).toBe(1);
  calls = 0;
  await expect(retryOnDuplicate(() => (calls++, Thing.create({ k: 'a', n: 3 })), 3)).rejects.toMatchObject({
    code: 11000,
  });
  expect(calls).toBe(3);
});
