import { parseArgs } from 'node:util';
import { env } from '../../config/env';
import { logger } from '../../lib/logger';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { createProducerConnection, createWorkerConnection } from '../../lib/redis';
import { createShutdown } from '../../lib/shutdown';
import { broadcastSenders } from './channels';
import { startBroadcastWorkers } from './start';

/**
 * A process that only delivers broadcasts (Telegram; Zalo runs inside the app process, which
 * holds the Zalo client). `node dist/workers/broadcast/main.js [--telegram-rate N] [--lock-ms N]`.
 * Tests start it as a child process to kill it mid-broadcast.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'telegram-rate': { type: 'string' }, 'lock-ms': { type: 'string' } },
  });
  const e = env();
  await connectMongo(e.MONGODB_URI);
  const redis = createProducerConnection(e);
  const shutdown = createShutdown(logger);
  const ctx = { env: e, log: logger, redis, prefix: e.REDIS_PREFIX, stopSignal: shutdown.stopSignal };
  const lockMs = values['lock-ms'] ? Number(values['lock-ms']) : undefined;
  const rate = values['telegram-rate'] ? Number(values['telegram-rate']) : undefined;
  const workers = await startBroadcastWorkers({
    ctx,
    createConnection: () => createWorkerConnection(e),
    senders: broadcastSenders(ctx),
    ...(rate ? { limits: { telegram: { limitPerS: rate } } } : {}),
    ...(lockMs ? { lockDuration: lockMs, stalledInterval: lockMs } : {}),
  });
  shutdown.add('broadcast-workers', () => workers.close(), 20);
  shutdown.add('redis', () => redis.quit(), 90);
  shutdown.add('mongo', () => disconnectMongo(), 91);
  shutdown.onSignals();
  logger.info('broadcast workers ready');
  process.send?.('ready');
}

main().catch((err: Error) => {
  logger.fatal({ err: err.message }, 'broadcast worker failed to start');
  process.exit(1);
});
