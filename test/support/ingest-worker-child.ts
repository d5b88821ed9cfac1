/**
 * A worker process for test/integration/worker-crash.test.ts, run with `node --import tsx`.
 * It consumes the ingest queue with a short lock, and after storing a completion it tells the
 * parent and hangs (an `afterResponseComplete` hook that never returns), so the parent can
 * SIGKILL it in the middle of the job.
 */
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { afterResponseComplete } from '../../workers/jobs/response-complete';
import { JobProducer } from '../../workers/producer';
import { startWorkers } from '../../workers/runner';
import { testEnv } from './ingest';

async function main(): Promise<void> {
  const { MONGODB_URI, TEST_DB, REDIS_URL, TEST_PREFIX, TEST_LOCK_MS } = process.env;
  if (!MONGODB_URI || !TEST_DB || !REDIS_URL || !TEST_PREFIX) throw new Error('child: missing env');
  await mongoose.connect(MONGODB_URI, { dbName: TEST_DB, serverSelectionTimeoutMS: 5000 });
  afterResponseComplete.push(async (p) => {
    process.send?.({ stored: p.responseId });
    await new Promise(() => undefined);
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new JobProducer(redis, TEST_PREFIX);
  await startWorkers({
    ctx: { env: testEnv(TEST_PREFIX), log: logger, redis, prefix: TEST_PREFIX },
    producer,
    createConnection: () => new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    queues: ['ingest'],
    concurrency: 1,
    lockDuration: Number(TEST_LOCK_MS ?? 1000),
    // The stalled check is rate-limited per queue by a key that lives for stalledInterval: a
    // long interval here would keep the surviving worker from checking.
    stalledInterval: 300,
  });
  process.send?.({ ready: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
