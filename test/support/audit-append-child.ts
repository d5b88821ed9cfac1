/**
 * A second process appending to the audit log, for test/integration/api-audit.test.ts, run with
 * `node --import tsx`: TEST_COUNT entries, TEST_PARALLEL at a time, then it exits.
 */
import mongoose from 'mongoose';
import { appendAudit } from '../../lib/audit/writer';

async function main(): Promise<void> {
  const { MONGODB_URI, TEST_DB, TEST_COUNT, TEST_PARALLEL, TEST_ACTOR } = process.env;
  if (!MONGODB_URI || !TEST_DB || !TEST_ACTOR) throw new Error('child: missing env');
  await mongoose.connect(MONGODB_URI, { dbName: TEST_DB, serverSelectionTimeoutMS: 5000 });
  const count = Number(TEST_COUNT ?? 20);
  const parallel = Number(TEST_PARALLEL ?? 4);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        await appendAudit({
          actor: TEST_ACTOR,
          action: 'test.append',
          targetType: 'test',
          targetId: `${TEST_ACTOR}-${i}`,
        });
      }
    }),
  );
  await mongoose.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
