import mongoose, { Schema } from 'mongoose';
import { markStage } from '../../bot/survey/funnel';
import { isDuplicateKey } from '../../lib/mongo';
import { Dossier } from '../../models/dossier';
import { InvitationStat } from '../../models/invitation';
import { connectTestDb, dropTestDb } from '../support/services';

/**
 * Concurrent updates of the same documents: MongoDB applies each document's update atomically,
 * so no update is lost and a conditional update ("claim it if nobody has") has one winner.
 * FerretDB 1.24 as published reads, applies the update in memory and writes back without a
 * compare, and loses updates; scripts/install-ferretdb.sh builds it with a patch that makes each
 * write a compare-and-swap (docs/architecture.md, "FerretDB 1.24 as the test server").
 * Every call is started at once; the driver's pool (20 connections) keeps 20 of them in flight.
 */
const Item = mongoose.model(
  'ConcurrentItem',
  new Schema({
    key: { type: String, required: true, unique: true },
    group: { type: String, default: null },
    seq: { type: Number, default: 0 },
    n: { type: Number, default: 0 },
    owner: { type: Number, default: null },
    status: { type: String, default: null },
  }),
);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

beforeAll(async () => {
  await connectTestDb('concupdates');
  await Promise.all([Item.syncIndexes(), Dossier.syncIndexes(), InvitationStat.syncIndexes()]);
});
afterAll(dropTestDb);

test('50 concurrent $inc of one document all count', async () => {
  await Item.create({ key: 'inc' });
  const results = await Promise.all(range(50).map(() => Item.updateOne({ key: 'inc' }, { $inc: { n: 1 } })));
  expect(results.map((r) => r.modifiedCount)).toEqual(range(50).map(() => 1));
  expect((await Item.findOne({ key: 'inc' }).lean())?.n).toBe(50);
});

test('20 concurrent conditional claims by updateOne: exactly one wins, and the document holds its claim', async () => {
  await Item.create({ key: 'claim-update' });
  const results = await Promise.all(
    range(20).map((i) => Item.updateOne({ key: 'claim-update', owner: null }, { $set: { owner: i } })),
  );
  const winners = range(20).filter((i) => results[i].modifiedCount === 1);
  expect(winners).toHaveLength(1);
  expect(results.filter((r) => r.matchedCount === 1)).toHaveLength(1);
  expect((await Item.findOne({ key: 'claim-update' }).lean())?.owner).toBe(winners[0]);
});

test('20 concurrent conditional replacements by replaceOne: exactly one wins', async () => {
  await Item.create({ key: 'claim-replace' });
  const results = await Promise.all(
    range(20).map((i) =>
      Item.replaceOne({ key: 'claim-replace', owner: null }, { key: 'claim-replace', owner: i }),
    ),
  );
  const winners = range(20).filter((i) => results[i].modifiedCount === 1);
  expect(winners).toHaveLength(1);
  expect((await Item.findOne({ key: 'claim-replace' }).lean())?.owner).toBe(winners[0]);
});

test('20 concurrent conditional claims by findOneAndUpdate: one caller gets the document, before or after its update as asked', async () => {
  await Item.create({ key: 'claim-find' });
  // Even callers ask for the document after the update, odd ones for the one before.
  const results = await Promise.all(
    range(20).map((i) =>
      Item.findOneAndUpdate(
        { key: 'claim-find', owner: null },
        { $set: { owner: i } },
        { returnDocument: i % 2 === 0 ? 'after' : 'before', lean: true },
      ),
    ),
  );
  const winners = range(20).filter((i) => results[i] !== null);
  expect(winners).toHaveLength(1);
  const [winner] = winners;
  expect(results[winner]?.owner).toBe(winner % 2 === 0 ? winner : null);
  expect((await Item.findOne({ key: 'claim-find' }).lean())?.owner).toBe(winner);
});

test('10 concurrent findOneAndUpdate takes of a sorted queue of 10 each get a different item', async () => {
  await Item.insertMany(
    range(10).map((seq) => ({ key: `queue-${seq}`, group: 'queue', seq, status: 'pending' })),
  );
  const taken = await Promise.all(
    range(10).map(() =>
      Item.findOneAndUpdate(
        { group: 'queue', status: 'pending' },
        { $set: { status: 'taken' } },
        { sort: { seq: 1 }, returnDocument: 'after', lean: true },
      ),
    ),
  );
  // A caller that lost its first pick to another takes the next pending item, never none.
  expect(taken.map((d) => d?.seq).sort((a, b) => (a ?? -1) - (b ?? -1))).toEqual(range(10));
  expect(await Item.countDocuments({ group: 'queue', status: 'taken' })).toBe(10);
});

test('20 concurrent updateMany $inc of the same 10 documents all count on each', async () => {
  await Item.insertMany(range(10).map((i) => ({ key: `many-${i}`, group: 'many' })));
  const results = await Promise.all(
    range(20).map(() => Item.updateMany({ group: 'many' }, { $inc: { n: 1 } })),
  );
  expect(results.map((r) => r.modifiedCount)).toEqual(range(20).map(() => 10));
  const docs = await Item.find({ group: 'many' }).lean();
  expect(docs.map((d) => d.n)).toEqual(range(10).map(() => 20));
});

test('10 concurrent conditional updateMany claims of 30 documents claim each once and count only their own', async () => {
  await Item.insertMany(range(30).map((i) => ({ key: `batch-${i}`, group: 'batch' })));
  const results = await Promise.all(
    range(10).map((i) => Item.updateMany({ group: 'batch', owner: null }, { $set: { owner: i } })),
  );
  const docs = await Item.find({ group: 'batch' }).lean();
  expect(docs.filter((d) => d.owner === null)).toHaveLength(0);
  // A document another call claimed first is neither matched nor modified by this one.
  for (const i of range(10)) {
    const owned = docs.filter((d) => d.owner === i).length;
    expect({ caller: i, modified: results[i].modifiedCount, matched: results[i].matchedCount }).toEqual({
      caller: i,
      modified: owned,
      matched: owned,
    });
  }
});

test('10 concurrent bulk writes of $inc over the same 10 documents all count', async () => {
  await Item.insertMany(range(10).map((i) => ({ key: `bulk-${i}`, group: 'bulk' })));
  const results = await Promise.all(
    range(10).map(() =>
      Item.bulkWrite(
        range(10).map((i) => ({ updateOne: { filter: { key: `bulk-${i}` }, update: { $inc: { n: 1 } } } })),
        { ordered: false },
      ),
    ),
  );
  expect(results.map((r) => r.modifiedCount)).toEqual(range(10).map(() => 10));
  const docs = await Item.find({ group: 'bulk' }).lean();
  expect(docs.map((d) => d.n)).toEqual(range(10).map(() => 10));
});

test('20 concurrent $inc upserts of one new key all count: the unique index turns the losing inserts into updates', async () => {
  // As bot/survey/funnel.ts does: a first upsert that loses the insert race gets a duplicate key
  // error (MongoDB may also retry it itself), and then increments the winner's document.
  const incUpsert = async () => {
    try {
      await Item.updateOne({ key: 'upsert' }, { $inc: { n: 1 } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await Item.updateOne({ key: 'upsert' }, { $inc: { n: 1 } });
    }
  };
  await Promise.all(range(20).map(incUpsert));
  const docs = await Item.find({ key: 'upsert' }).lean();
  expect(docs.map((d) => d.n)).toEqual([20]);
});

test('20 concurrent findOneAndUpdate $inc upserts of one new key return each count from 1 to 20 once', async () => {
  const next = async (): Promise<number | undefined> => {
    const inc = () =>
      Item.findOneAndUpdate(
        { key: 'ticket' },
        { $inc: { n: 1 } },
        { upsert: true, returnDocument: 'after', lean: true },
      );
    try {
      return (await inc())?.n;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return (await inc())?.n;
    }
  };
  const seen = await Promise.all(range(20).map(next));
  expect(seen.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(range(20).map((i) => i + 1));
});

test('a document holding every kind of value keeps them through concurrent updates', async () => {
  // Each write compares the stored document with the one read (on FerretDB, as re-encoded
  // jsonb): a value that did not survive that would make every update of its document fail.
  const { Binary, BSONRegExp, Double, Int32, Long, ObjectId, Timestamp } = mongoose.mongo;
  const raw = mongoose.connection.collection('everyvalue');
  await raw.insertOne({
    key: 'every',
    n: 0,
    doubles: [0.1, 1e21, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, -1e-7].map((d) => new Double(d)),
    int: new Int32(-2147483648),
    longs: [Long.fromString('9223372036854775807'), Long.fromString('-9223372036854775808')],
    dates: [new Date(0), new Date(-1), new Date('2025-03-16T03:00:00.123Z')],
    ts: new Timestamp({ t: 4294967295, i: 1 }),
    bins: [
      new Binary(Buffer.from([0, 1, 2, 255])),
      new Binary(Buffer.from('abc'), Binary.SUBTYPE_USER_DEFINED),
    ],
    oid: new ObjectId(),
    re: new BSONRegExp('^a.*b$', 'imsx'),
    flags: [true, false, null],
    texts: ['', 'Ông/Bà đánh giá 😀', '<>&"\\\n\t\u0001\u2028', '$x', 'a'.repeat(5000)],
    nested: { z: 1, a: { y: [1, { w: [3] }], x: {} } },
    none: [],
  });
  const before = await raw.findOne({ key: 'every' }, { projection: { n: 0 } });
  await Promise.all([
    ...range(10).map(() => raw.updateOne({ key: 'every' }, { $inc: { n: 1 } })),
    ...range(10).map(() => raw.updateMany({ key: 'every' }, { $inc: { n: 1 } })),
    ...range(10).map(() => raw.findOneAndUpdate({ key: 'every' }, { $inc: { n: 1 } })),
  ]);
  expect((await raw.findOne({ key: 'every' }))?.n).toBe(30);
  const after = await raw.findOne({ key: 'every' }, { projection: { n: 0 } });
  expect(before).not.toBeNull();
  expect(Buffer.from(mongoose.mongo.BSON.serialize(after ?? {}))).toEqual(
    Buffer.from(mongoose.mongo.BSON.serialize(before ?? {})),
  );
});

test('10 concurrent markStage of one dossier count each stage once', async () => {
  const issuedAt = new Date('2025-03-16T03:00:00Z');
  await Dossier.create({
    code: 'CONC-0001',
    procedureCode: '1.001234',
    unitCode: '19867',
    channel: 'post',
    status: 'finished',
    survey: { token: 'conc-token', issuedAt },
  });
  const now = new Date('2025-03-16T04:00:00Z');
  const counted = await Promise.all(range(10).map(() => markStage('CONC-0001', 'opened', now)));
  expect(counted.filter(Boolean)).toHaveLength(1);
  const stats = await InvitationStat.find({ unitCode: '19867', procedureCode: '1.001234' }).lean();
  expect(stats.map((s) => ({ day: s.day, invited: s.invited, opened: s.opened }))).toEqual([
    { day: '2025-03-16', invited: 1, opened: 1 },
  ]);
});
