import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import mongoose from 'mongoose';
import { logger } from '../../lib/logger';
import { broadcastSenders } from '../../workers/broadcast/channels';
import { startBroadcastWorkers } from '../../workers/broadcast/start';
import { testRedis } from '../../test/support/services';
import { broadcastTestEnv } from '../../test/support/broadcasts';

/**
 * Broadcast workers in a process of their own, for bench/broadcast.ts with BENCH_PROCS > 1: the
 * deployment shape of several stateless `workers` processes sharing Redis (the rate bound is
 * the claim script's, in Redis, whatever the number of processes). Each child runs exactly what
 * the bench runs in-process: startBroadcastWorkers with the channel limit overridden.
 */
export interface WorkersChildConfig {
  dbName: string;
  prefix: string;
  apiRoot: string;
  token: string;
  limitPerS: number;
  concurrency: number;
}

if (process.env.HL_BROADCAST_WORKERS_CHILD) {
  void (async () => {
    const cfg = JSON.parse(process.env.HL_BROADCAST_WORKERS_CHILD!) as WorkersChildConfig;
    await mongoose.connect(process.env.MONGODB_URI!, { dbName: cfg.dbName });
    const env = broadcastTestEnv(cfg, { BROADCAST_RATE_MARGIN_MS: process.env.BROADCAST_RATE_MARGIN_MS });
    const redis = testRedis();
    const ctx = { env, log: logger, redis, prefix: cfg.prefix };
    const workers = await startBroadcastWorkers({
      ctx,
      createConnection: testRedis,
      senders: broadcastSenders(ctx),
      limits: { telegram: { limitPerS: cfg.limitPerS, concurrency: cfg.concurrency } },
      finishIntervalMs: 250,
    });
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void (async () => {
        await workers.close();
        await redis.quit();
        await mongoose.disconnect();
        process.exit(0);
      })();
    };
    process.once('SIGTERM', stop);
    // The bench died without stopping us (a crash): do not go on sending on our own.
    process.once('disconnect', stop);
    process.send!({ ready: true });
  })();
}

export async function startWorkersChild(cfg: WorkersChildConfig): Promise<{ close(): Promise<void> }> {
  const child: ChildProcess = fork(__filename, [], {
    env: { ...process.env, HL_BROADCAST_WORKERS_CHILD: JSON.stringify(cfg) },
  });
  await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) =>
      Promise.reject(new Error(`broadcast workers process exited (${String(code)})`)),
    ),
  ]);
  return {
    close: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
