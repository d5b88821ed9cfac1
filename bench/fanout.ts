/**
 * Fan-out benchmark (not a test): how fast a broadcast to N contacts becomes N queued deliveries,
 * and where the time goes. Real Redis, BullMQ and the MongoDB-compatible server; no sender runs.
 *   1. the contact cursor alone (the recipient query, pages of 1,000);
 *   2. the Redis side alone on the same rows: delivery states + BullMQ addBulk;
 *   3. the whole `runFanout` (cursor, Redis, the cursor saved in MongoDB after each page).
 * With the cursor and the Redis side overlapped, (3) tends to max(1, 2); run one after the other,
 * to (1) + (2).
 *
 *   bash scripts/with-services.sh npx tsx bench/fanout.ts        # BENCH_RECIPIENTS=20000
 */
import os from 'node:os';
import { Types } from 'mongoose';
import { parseEnv } from '../config/env';
import { Broadcast } from '../models/broadcast';
import { Contact } from '../models/contact';
import { enqueueDeliveries } from '../workers/broadcast/control';
import { DeliveryStore } from '../workers/broadcast/delivery-store';
import { FANOUT_PAGE, runFanout } from '../workers/broadcast/fanout';
import { BroadcastQueues } from '../workers/broadcast/queues';
import { recipientFilter, recipientPages, type RecipientRow } from '../workers/broadcast/targeting';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../test/support/services';
import { reportFigures } from './support/result';

const N = Number(process.env.BENCH_RECIPIENTS ?? 20_000);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  console.log(`fan-out benchmark: ${N} recipients, ${os.cpus().length} CPUs, load average ${load()}`);
  await connectTestDb('benchfanout');
  const redis = testRedis();
  const prefix = testPrefix('benchfanout');
  const queues = new BroadcastQueues(redis, prefix);
  try {
    for (let i = 0; i < N; i += 2000) {
      const docs = Array.from({ length: Math.min(2000, N - i) }, (_, k) => ({
        channel: 'telegram',
        channelUserId: String(7_000_000 + i + k),
        consentAt: new Date(),
        lang: 'vi',
        unitCodes: ['X1'],
        tags: ['all'],
      }));
      await Contact.insertMany(docs, { ordered: false, lean: true });
    }
    const env = parseEnv({ NODE_ENV: 'test', QUIET_HOURS_START: '00:00', QUIET_HOURS_END: '00:00' });
    const filter = await recipientFilter({ channels: ['telegram'], tags: ['all'] }, 'telegram', {
      zaloWindowH: env.ZALO_CS_WINDOW_H,
    });

    let t = performance.now();
    const pages: RecipientRow[][] = [];
    for await (const page of recipientPages(filter, null, FANOUT_PAGE)) pages.push(page);
    const cursorMs = performance.now() - t;
    const read = pages.reduce((n, p) => n + p.length, 0);
    console.log(
      `1. contact cursor alone: ${read} rows in ${cursorMs.toFixed(0)} ms = ${Math.round(read / (cursorMs / 1000))}/s`,
    );

    const store = new DeliveryStore(redis, prefix);
    const dry = new Types.ObjectId().toHexString();
    t = performance.now();
    for (const page of pages) {
      const rows = page.map((p) => ({
        contactId: p._id.toString(),
        channel: p.channel,
        chatId: p.channelUserId,
        lang: p.lang,
      }));
      await store.add(dry, rows);
      await enqueueDeliveries(dry, rows, queues);
    }
    const redisMs = performance.now() - t;
    console.log(
      `2. delivery states + addBulk alone: ${read} in ${redisMs.toFixed(0)} ms = ${Math.round(read / (redisMs / 1000))}/s`,
    );
    await queues.deliveryQueue('telegram').obliterate({ force: true });

    const bc = await Broadcast.create({
      text: 'Bench',
      status: 'scheduled',
      createdBy: 'bench',
      target: { channels: ['telegram'], tags: ['all'] },
      ignoreQuietHours: true,
    });
    t = performance.now();
    await runFanout(bc.id as string, { redis, prefix, queues, env, log: { info: () => undefined } });
    const fullMs = performance.now() - t;
    const done = (await Broadcast.findById(bc.id).lean())!;
    console.log(
      `3. runFanout: ${done.fannedOut} in ${fullMs.toFixed(0)} ms = ${Math.round(done.fannedOut / (fullMs / 1000))}/s (status ${done.status}); (1)+(2) = ${(cursorMs + redisMs).toFixed(0)} ms, max = ${Math.max(cursorMs, redisMs).toFixed(0)} ms`,
    );
    reportFigures('fanout', [
      {
        figure: 'runFanout, recipients/s',
        value: done.fannedOut / (fullMs / 1000),
        unit: '/s',
        target: null,
        met: null,
      },
    ]);
    console.log(
      JSON.stringify({
        recipients: N,
        cursorMs,
        redisMs,
        fullMs,
        perSecond: done.fannedOut / (fullMs / 1000),
        loadEnd: load(),
      }),
    );
  } finally {
    await queues.close();
    await clearPrefix(redis, prefix);
    redis.disconnect();
    await dropTestDb();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
