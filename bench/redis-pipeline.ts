/**
 * What a pipeline costs on the connection the turns use: the producer connection (lib/redis.ts),
 * on which BullMQ defines its Lua scripts, against a producer connection without scripts measured
 * in the same run. ioredis 6.0 copied every script of its connection onto each new pipeline, and
 * auto pipelining makes a pipeline per batch of commands; patches/ioredis+6.0.0.patch keeps them on
 * a shared prototype (docs/architecture.md, "ioredis, patched").
 *
 * Two figures, each a ratio of the scripted connection's rate to the bare one's (target ≥ 0.9:
 * the scripts cost a pipeline nothing): pipelines of one command made (the client's CPU alone,
 * nothing sent) and auto pipelined commands awaited one after another (a batch of one command,
 * as most are at 100 updates/s, round trip included). A third: 50 chains of awaited commands on
 * the auto pipelined connection against one that writes each command itself, the ratio of minor GC
 * time per command (target ≤ 1.5). Unpatched it was 3.7–4.6: ioredis defined `length` on each
 * pipeline, which gave every pipeline a hidden class of its own that kept it alive through the
 * scavenges (bench/RESULTS.md, "redis-pipeline").
 * Run: bash scripts/with-services.sh npx tsx bench/redis-pipeline.ts   (BENCH_PIPELINES=200000,
 * BENCH_ROUND_TRIPS=20000, BENCH_CHAINS_S=4)
 */
import os from 'node:os';
import { Queue } from 'bullmq';
import { parseEnv } from '../config/env';
import { createProducerConnection, createWorkerConnection, key, type RedisClient } from '../lib/redis';
import { watchMinorGc } from './support/loop-watch';
import { reportFigures } from './support/result';

const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 200_000);
const CHAINS_S = Number(process.env.BENCH_CHAINS_S ?? 4);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 20_000);
/** Each connection is measured this many times, alternating; the best run of each counts. */
const RUNS = 3;

function perSecond(n: number, run: () => void): number {
  const t0 = process.hrtime.bigint();
  run();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function perSecondAsync(n: number, run: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function pipelinesMade(redis: RedisClient, k: string): number {
  return perSecond(PIPELINES, () => {
    for (let i = 0; i < PIPELINES; i++) redis.pipeline().set(k, 'v');
  });
}

function roundTrips(redis: RedisClient, k: string): Promise<number> {
  return perSecondAsync(ROUND_TRIPS, async () => {
    for (let i = 0; i < ROUND_TRIPS; i++) await redis.set(k, 'v');
  });
}

/**
 * 50 chains of awaited SETs for CHAINS_S seconds, as 50 concurrent turns issue theirs: commands
 * a second and the main thread's minor GC (scavenge) time per 1,000 commands.
 */
async function chains(
  redis: RedisClient,
  k: string,
): Promise<{ perS: number; gcMsPerK: number; gcMaxMs: number }> {
  const gcWatch = watchMinorGc();
  const t0 = performance.now();
  let n = 0;
  const chain = async () => {
    while (performance.now() - t0 < CHAINS_S * 1000) {
      await redis.set(k, 'x'.repeat(100));
      n++;
    }
  };
  await Promise.all(Array.from({ length: 50 }, chain));
  const s = (performance.now() - t0) / 1000;
  const gc = await gcWatch.stop();
  return { perS: n / s, gcMsPerK: (gc.totalMs * 1000) / n, gcMaxMs: gc.maxMs };
}

async function main(): Promise<void> {
  const env = parseEnv({ PHONE_HASH_KEY: 'bench-only-phone-hash-key', LOG_LEVEL: 'warn' });
  const prefix = `{hlbp${Date.now()}}`;
  const scripted = createProducerConnection(env);
  const bare = createProducerConnection(env);
  const queue = new Queue('pipeline', { connection: scripted, prefix });
  await queue.waitUntilReady();
  await bare.ping();
  const scripts = Object.keys(scripted.scriptsSet).length;
  console.log(
    `redis-pipeline: the producer connection with BullMQ's ${scripts} scripts against one with ${Object.keys(bare.scriptsSet).length}; load ${os.loadavg()[0].toFixed(2)}`,
  );
  const k = key(prefix, 'k');
  // First, before the pipelines below leave their garbage: the same connection without auto pipelining.
  const direct = createWorkerConnection(env);
  const viaDirect = await chains(direct, k);
  await direct.quit();
  const viaAuto = await chains(bare, k);
  const best = { made: [0, 0], trips: [0, 0] };
  for (let r = 0; r < RUNS; r++)
    for (const [i, c] of [bare, scripted].entries()) {
      best.made[i] = Math.max(best.made[i], pipelinesMade(c, k));
      best.trips[i] = Math.max(best.trips[i], await roundTrips(c, k));
    }
  const made = best.made[1] / best.made[0];
  const trips = best.trips[1] / best.trips[0];
  const us = (rate: number) => (1e6 / rate).toFixed(2);
  console.log(
    `  pipelines of one command made: bare ${us(best.made[0])} µs, with the scripts ${us(best.made[1])} µs each: ratio ${made.toFixed(2)} (target ≥ 0.9)`,
  );
  console.log(
    `  auto pipelined SETs one after another: bare ${us(best.trips[0])} µs, with the scripts ${us(best.trips[1])} µs each: ratio ${trips.toFixed(2)} (target ≥ 0.9)`,
  );
  const gcRatio = viaAuto.gcMsPerK / viaDirect.gcMsPerK;
  console.log(
    `  50 chains of awaited SETs: auto pipelined ${viaAuto.perS.toFixed(0)}/s, minor GC ${viaAuto.gcMsPerK.toFixed(2)} ms per 1,000 (longest ${viaAuto.gcMaxMs.toFixed(1)} ms); ` +
      `one write a command ${viaDirect.perS.toFixed(0)}/s, ${viaDirect.gcMsPerK.toFixed(2)} ms per 1,000 (longest ${viaDirect.gcMaxMs.toFixed(1)} ms): GC ratio ${gcRatio.toFixed(2)} (target ≤ 1.5)`,
  );
  await queue.close();
  await scripted.del(k);
  await Promise.all([scripted.quit(), bare.quit()]);
  reportFigures('redis-pipeline', [
    {
      figure: 'minor GC per command, auto pipelined / direct',
      value: gcRatio,
      unit: '×',
      target: '≤ 1.5',
      met: gcRatio <= 1.5,
    },
    { figure: 'pipeline made, scripted / bare', value: made, unit: '×', target: '≥ 0.9', met: made >= 0.9 },
    {
      figure: 'auto pipelined round trip, scripted / bare',
      value: trips,
      unit: '×',
      target: '≥ 0.9',
      met: trips >= 0.9,
    },
  ]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
