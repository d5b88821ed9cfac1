import mongoose from 'mongoose';
import { isDuplicateKey } from '../mongo';

/**
 * What the code relies on from the database, tried on a scratch collection that is dropped after:
 * MongoDB 6+ and FerretDB 1.24 both pass (docs/architecture.md). Nothing else is assumed: no
 * transactions, no change streams, no TTL expiry, only these pipeline stages.
 */
export interface FeatureCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ServerInfo {
  version: string;
  /** FerretDB reports its own version beside the MongoDB version it emulates. */
  ferretdb: string | null;
  /** The replica set's name, or null for a standalone server. */
  replicaSet: string | null;
}

const SCRATCH = '_hailong_db_check';

export async function serverInfo(): Promise<ServerInfo> {
  const db = mongoose.connection.db;
  if (!db) throw new Error('not connected to MongoDB');
  const build = (await db.admin().command({ buildInfo: 1 })) as {
    version?: string;
    ferretdbVersion?: string;
    ferretdb?: { version?: string };
  };
  const hello = (await db.admin().command({ hello: 1 })) as { setName?: string };
  return {
    version: build.version ?? 'unknown',
    ferretdb: build.ferretdbVersion ?? build.ferretdb?.version ?? null,
    replicaSet: hello.setName ?? null,
  };
}

async function probe(name: string, run: () => Promise<void>): Promise<FeatureCheck> {
  try {
    await run();
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

export async function checkFeatures(): Promise<FeatureCheck[]> {
  const db = mongoose.connection.db;
  if (!db) throw new Error('not connected to MongoDB');
  const c = db.collection(SCRATCH);
  await c.drop().catch(() => undefined);
  try {
    return [
      await probe('unique index refuses a duplicate (idempotent ingest)', async () => {
        await c.createIndex({ k: 1 }, { unique: true, name: 'k_unique' });
        await c.insertOne({ k: 1 });
        const dup = await c.insertOne({ k: 1 }).then(
          () => false,
          (err: unknown) => isDuplicateKey(err),
        );
        if (!dup) throw new Error('a second document with the same unique key was accepted');
      }),
      await probe('sparse unique index skips absent fields', async () => {
        await c.createIndex({ s: 1 }, { unique: true, sparse: true, name: 's_sparse' });
        await c.insertMany([{ k: 2 }, { k: 3 }]);
      }),
      await probe('conditional update and upsert', async () => {
        const r = await c.updateOne({ k: 2, n: { $exists: false } }, { $set: { n: 1 }, $inc: { m: 1 } });
        if (r.modifiedCount !== 1) throw new Error('conditional update did not apply');
        const again = await c.updateOne({ k: 2, n: { $exists: false } }, { $set: { n: 2 } });
        if (again.modifiedCount !== 0) throw new Error('conditional update applied twice');
        await c.updateOne({ k: 9 }, { $setOnInsert: { n: 0 } }, { upsert: true });
      }),
      await probe('aggregation $match $unwind $group $sort $project $skip $limit', async () => {
        await c.insertOne({ k: 4, tags: ['a', 'b'] });
        const rows = await c
          .aggregate([
            { $match: { k: { $gte: 1 } } },
            { $unwind: '$tags' },
            { $group: { _id: '$tags', n: { $sum: 1 }, c: { $count: {} } } },
            { $sort: { _id: 1 } },
            { $project: { _id: 1, n: 1 } },
            { $skip: 0 },
            { $limit: 10 },
          ])
          .toArray();
        if (rows.length !== 2) throw new Error(`expected 2 groups, got ${rows.length}`);
      }),
    ];
  } finally {
    await c.drop().catch(() => undefined);
  }
}
