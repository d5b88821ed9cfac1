/**
 * Benchmark (not a test): the ceiling of one BullMQ queue on this machine. One queue's keys share
 * one hash slot, so one Redis thread serves all of it however many nodes a cluster has; this
 * measures that thread's limit for our job shape, against raw Redis work in the same run:
 *  - baseline: LPUSH then RPOP of the same number of 200-byte items, pipelined 1,000 at a time
 *    (the least Redis can do to hand an item from a producer to a consumer);
 *  - BullMQ: addBulk in chunks of 1,000 while one Worker (concurrency 200, as many as the ingest
 *    pool) completes no-op jobs; removeOnComplete as in production (workers/queues.ts).
 * Each phase reports items/s and the Redis server's CPU per item (INFO cpu, user + sys), the
 * figure a capacity model needs: 1 / (CPU per job) is the jobs/s one Redis core can carry.
 * It starts its own redis-server (Debian's, no persistence) on a free port: the shared one's CPU
 * counters would include other clients' work.
 * Run: npx tsx bench/redis-queue-ceiling.ts (BENCH_QUEUE_N, default 50000)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { parseEnv } from '../config/env';
import { createProducerConnection, createWorkerConnection, key, type RedisClient } from '../lib/redis';
import { reportFigures } from './support/result';

const N = Number(process.env.BENCH_QUEUE_N ?? 50_000);
const CHUNK = 1000;
const PAYLOAD = { responseId: 'r'.repeat(36), questionId: 'q1', value: 5, pad: 'x'.repeat(120) };

async function redisCpuS(redis: RedisClient): Promise<number> {
  const info = await redis.info('cpu');
  const num = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return num('used_cpu_user') + num('used_cpu_sys');
}

async function redisVersion(url: string): Promise<string> {
  const r = createProducerConnection({ REDIS_URL: url });
  const v = /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? '?';
  await r.quit();
  return `redis ${v}`;
}

interface Phase {
  name: string;
  items: number;
  seconds: number;
  redisCpuS: number;
}

async function measure(name: string, redis: RedisClient, run: () => Promise<void>): Promise<Phase> {
  const cpu0 = await redisCpuS(redis);
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  return { name, items: N, seconds, redisCpuS: (await redisCpuS(redis)) - cpu0 };
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  s.close();
  return port;
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  try {
    await sleep(300);
    await run(`redis://127.0.0.1:${port}`);
  } finally {
    server.kill('SIGTERM');
  }
}

async function run(redisUrl: string): Promise<void> {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const env = parseEnv({
    PHONE_HASH_KEY: 'bench-only-phone-hash-key',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
  });
  const prefix = `{hlbq${Date.now()}}`;
  const redis = createProducerConnection(env);
  const body = JSON.stringify(PAYLOAD);

  const list = key(prefix, 'baseline');
  const baseline = await measure('raw LPUSH+RPOP (pipelined)', redis, async () => {
    for (let i = 0; i < N; i += CHUNK) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(N, i + CHUNK); j++) p.lpush(list, body);
      await p.exec();
    }
    for (let i = 0; i < N; i += CHUNK) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(N, i + CHUNK); j++) p.rpop(list);
      await p.exec();
    }
  });

  const queue = new Queue('ceiling', {
    connection: redis,
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  let done = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const workerConnection = createWorkerConnection(env);
  const worker = new Worker(
    'ceiling',
    async () => {
      if (++done === N) allDone();
      return Promise.resolve();
    },
    { connection: workerConnection, prefix, concurrency: 200, autorun: false },
  );
  await worker.waitUntilReady();
  const bull = await measure('BullMQ add + process (one queue)', redis, async () => {
    void worker.run();
    for (let i = 0; i < N; i += CHUNK) {
      await queue.addBulk(
        Array.from({ length: Math.min(CHUNK, N - i) }, (_, j) => ({
          name: 'noop',
          data: { ...PAYLOAD, n: i + j },
        })),
      );
    }
    await finished;
  });
  await worker.close();
  workerConnection.disconnect();
  await queue.obliterate({ force: true });
  await queue.close();
  await redis.quit();

  const rate = (p: Phase) => p.items / p.seconds;
  const cpuUs = (p: Phase) => (p.redisCpuS / p.items) * 1e6;
  console.log(
    `redis-queue-ceiling  ${new Date().toISOString()}  N=${N}  cores=${os.cpus().length}  load before: ${load}  ${await redisVersion(redisUrl)}`,
  );
  for (const p of [baseline, bull])
    console.log(
      `  ${p.name.padEnd(34)} ${rate(p).toFixed(0).padStart(8)} items/s  ${p.seconds.toFixed(2)} s  Redis CPU ${cpuUs(p).toFixed(1)} µs/item`,
    );
  console.log(
    `  BullMQ / baseline: ${(rate(bull) / rate(baseline)).toFixed(3)} of the rate, ${(cpuUs(bull) / cpuUs(baseline)).toFixed(1)}× the Redis CPU per item`,
  );
  console.log(
    `  one Redis core at 100%: ≈ ${(1e6 / cpuUs(bull)).toFixed(0)} jobs/s through one queue (1 / Redis CPU per job)`,
  );
  reportFigures('redis-queue-ceiling', [
    {
      figure: 'BullMQ / LPUSH+RPOP rate',
      value: rate(bull) / rate(baseline),
      unit: '×',
      target: null,
      met: null,
    },
    {
      figure: 'jobs/s one Redis core carries',
      value: 1e6 / cpuUs(bull),
      unit: '/s',
      target: null,
      met: null,
    },
  ]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
