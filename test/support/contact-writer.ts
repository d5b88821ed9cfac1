import type { Redis } from 'ioredis';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { testEnv, testLog, waitForIdle } from './ingest';
import { testRedis } from './services';

/**
 * The one contact writer (workers/jobs/contact-writer.ts) for a test file that is not an ingest
 * test: the ingest workers that apply contact changes, and a wait until they have.
 */
export async function startContactWriter(
  redis: Redis,
  prefix: string,
): Promise<{ settled(): Promise<void>; close(): Promise<void> }> {
  const producer = new JobProducer(redis, prefix);
  const workers: RunningWorkers = await startWorkers({
    ctx: { env: testEnv(prefix), log: testLog, redis, prefix },
    producer,
    createConnection: testRedis,
    queues: ['ingest'],
  });
  return {
    settled: () => waitForIdle(producer.getQueue('ingest'), 20_000),
    async close() {
      await workers.close();
      await producer.close();
    },
  };
}
