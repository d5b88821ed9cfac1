import type { Redis } from 'ioredis';
import type { RedisClient } from '../../lib/redis';
import mongoose from 'mongoose';
import { clearPrefix } from '../../test/support/services';

/**
 * A benchmark's seeded database kept between runs (BENCH_DASHBOARD_DB): reused only while a
 * fingerprint (the generator's parameters and a seed-format version) matches the one written, at
 * the end of the seeding, both in the database and under the run's Redis prefix (the rollups'
 * epochs live there: a database without them is not the seeded state). Any mismatch, or a seeding
 * cut short, drops both and seeds again.
 */
const COLLECTION = 'bench_fingerprint';
const fingerprintKey = (prefix: string) => `${prefix}:bench:fingerprint`;

/** A kept database's name: letters, digits and underscores, so it cannot name another's. */
export function keptDbName(value: string): string {
  if (!/^[A-Za-z0-9_]{1,60}$/.test(value))
    throw new Error(
      `BENCH_DASHBOARD_DB must be 1-60 letters, digits or underscores, not ${JSON.stringify(value)}`,
    );
  return value;
}

/** Whether the database at `uri` and the `prefix` hold a finished seeding with this fingerprint. */
export async function seedMatches(
  uri: string,
  redis: RedisClient,
  prefix: string,
  fingerprint: object,
): Promise<boolean> {
  const want = JSON.stringify(fingerprint);
  const conn = await mongoose.createConnection(uri).asPromise();
  try {
    const doc = await conn
      .db!.collection<{ _id: string; fingerprint: string }>(COLLECTION)
      .findOne({ _id: 'seed' });
    return doc?.fingerprint === want && (await redis.get(fingerprintKey(prefix))) === want;
  } finally {
    await conn.close();
  }
}

/** Drops the database and every key under the prefix (before seeding again, or a throwaway run's end). */
export async function dropSeed(uri: string, redis: Redis, prefix: string): Promise<void> {
  const conn = await mongoose.createConnection(uri).asPromise();
  try {
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
  await clearPrefix(redis, prefix);
}

/** Marks the seeding finished, last, so that one cut short never matches. */
export async function markSeeded(redis: RedisClient, prefix: string, fingerprint: object): Promise<void> {
  const text = JSON.stringify(fingerprint);
  await mongoose.connection
    .db!.collection<{ _id: string; fingerprint: string }>(COLLECTION)
    .updateOne({ _id: 'seed' }, { $set: { fingerprint: text } }, { upsert: true });
  await redis.set(fingerprintKey(prefix), text);
}
