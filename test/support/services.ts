import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';

/** A fresh, unique name per test file: database name and Redis key prefix. */
export function uniqueName(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

export function mongoUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI not set (run `npm test`)');
  return uri;
}

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL not set (run `npm test`)');
  return url;
}

/** Connects mongoose to a fresh database for this test file and returns its name. */
export async function connectTestDb(label: string): Promise<string> {
  const dbName = uniqueName(label);
  mongoose.set('strictQuery', true);
  await mongoose.connect(mongoUri(), { dbName, serverSelectionTimeoutMS: 5000 });
  // Unique indexes are what make ingest idempotent, so tests build them like `seed`/`start` do.
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  return dbName;
}

export async function dropTestDb(): Promise<void> {
  if (mongoose.connection.readyState === 1) {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  }
}

/** A hash-tagged prefix unique to this test file, like production's {hl}. */
export function testPrefix(label: string): string {
  return `{${uniqueName(label)}}`;
}

export function testRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null });
}

/** Deletes every key under the prefix (test clean-up). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
