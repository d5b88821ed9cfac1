/**
 * A second process's view of what is live, for test/integration/flow-live-bus.test.ts, run with
 * `node --import tsx`: the flow change bus and a FlowRepository as app/start.ts makes them, with
 * a time to live of an hour, so only the bus can make it see a change. Env: MONGODB_URI (with
 * the test database), REDIS_URL, REDIS_PREFIX. Answers {unitCode} over IPC with {version}.
 */
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { startFlowChangeBus } from '../../bot/flow/change-bus';
import { FlowRepository } from '../../bot/flow/repository';
import { logger } from '../../lib/logger';

async function main(): Promise<void> {
  await mongoose.connect(process.env.MONGODB_URI!);
  const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  await startFlowChangeBus(redis, process.env.REDIS_PREFIX!, logger);
  const repo = new FlowRepository(3_600_000);
  process.on('message', (m: { unitCode: string; key?: string }) => {
    repo
      .live(m.key ?? 'default', { unitCode: m.unitCode, procedureCode: null })
      .then((flow) => process.send?.({ version: flow.version, key: flow.key }))
      .catch((err: unknown) => process.send?.({ error: (err as Error).message }));
  });
  process.send?.({ ready: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
