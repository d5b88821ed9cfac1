/**
 * Benchmark (not a test): answers persisted per second by the ingest worker (BullMQ jobs →
 * MongoDB) against the raw driver's insertMany of the same documents in batches of 1,000,
 * same run, same database. The answers are queued through the production sink
 * (workers/answer-sink.ts, which batches concurrent answers into `answers.record` jobs), all at
 * once: a backlog, as after a worker outage or a burst. Queueing is not timed; the worker's
 * drain is. Run: bash scripts/with-services.sh npx tsx bench/ingest.ts
 */
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import type { Env } from '../config/env';
import { logger } from '../lib/logger';
import { createWorkerConnection } from '../lib/redis';
import { Answer } from '../models/answer';
import { jobAnswerSink } from '../workers/answer-sink';
import { JobProducer } from '../workers/producer';
import { startWorkers } from '../workers/runner';
import { reportFigures } from './support/result';
import { loadAverage, RESPONSE_META, withWriterDb, writerBenchEnv } from './support/writer-db';

const N = Number(process.env.BENCH_INGEST_N ?? 20_000);
const PER_RESPONSE = 7;

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const env = writerBenchEnv();
  await withWriterDb('ingest', env, () => measure(env, loadBefore));
}

/** Both paths, on the database `main` made: the worker's drain first, then the raw driver's. */
async function measure(env: Env, loadBefore: string): Promise<void> {
  const prefix = `{hlbi${Date.now()}}`;
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const producer = new JobProducer(redis, prefix);
  const responseIds = Array.from(
    { length: Math.ceil(N / PER_RESPONSE) },
    (_, r) => `r${r}-${randomUUID().slice(0, 8)}`,
  );
  const payloads = Array.from({ length: N }, (_, i) => {
    const responseId = responseIds[Math.floor(i / PER_RESPONSE)];
    return {
      responseId,
      meta: RESPONSE_META,
      answer: {
        questionId: `q${i % PER_RESPONSE}`,
        element: 'TIEP_CAN',
        type: 'scale5',
        value: (i % 5) + 1,
        text: null,
      },
      answeredAt: new Date().toISOString(),
    };
  });

  // Worker path: jobs are queued first (not timed), then the worker drains them.
  const sink = jobAnswerSink(producer);
  await Promise.all(payloads.map((p) => sink.answer(p)));
  const queue = producer.getQueue('ingest');
  const jobs = await queue.getJobCounts('waiting');
  const ctx = { env: { ...env, REDIS_PREFIX: prefix }, log: logger, redis, prefix };
  // The worker is started and connected with the queue paused, so its start-up is not timed
  // either; the clock runs from "resume" until every job has completed. It does not poll a
  // count: FerretDB answers one by reading every document of the collection, so each poll would
  // compete with the inserts it waits for and see the last one late (bench/RESULTS.md, ingest).
  await queue.pause();
  const workers = await startWorkers({
    ctx,
    producer,
    queues: ['ingest'],
    createConnection: () => createWorkerConnection(env),
  });
  await Promise.all(workers.workers.map((w) => w.waitUntilReady()));
  let settled = 0;
  let failed = 0;
  const allDone = new Promise<void>((resolve) => {
    const settle = () => ++settled === jobs.waiting && resolve();
    for (const w of workers.workers) {
      w.on('completed', settle);
      w.on('failed', () => {
        failed++;
        settle();
      });
    }
  });
  const t0 = performance.now();
  await queue.resume();
  await allDone;
  const workerS = (performance.now() - t0) / 1000;
  await workers.close();
  const stored = await Answer.countDocuments();
  if (failed > 0 || stored !== N)
    throw new Error(`worker path stored ${stored} of ${N} answers (${failed} jobs failed)`);

  // Raw driver: the same answer documents, insertMany in batches of 1,000.
  const raw = mongoose.connection.db!.collection('raw_answers');
  // Same indexes as the answers collection: the ratio measures the worker path, not index upkeep.
  for (const [fields, options] of Answer.schema.indexes())
    await raw.createIndex(fields as Record<string, 1>, options as object);
  const docs = payloads.map((p) => ({
    responseId: p.responseId,
    questionId: p.answer.questionId,
    element: p.answer.element,
    type: p.answer.type,
    value: p.answer.value,
    text: null,
    answeredAt: new Date(p.answeredAt),
    unitCode: null,
    day: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  }));
  const t1 = performance.now();
  for (let i = 0; i < N; i += 1000) await raw.insertMany(docs.slice(i, i + 1000), { ordered: false });
  const rawS = (performance.now() - t1) / 1000;

  const workerRate = N / workerS;
  const rawRate = N / rawS;
  console.log(`ingest: ${N} answers (${PER_RESPONSE} per response)`);
  console.log(`  load average before the run: ${loadBefore}; ${jobs.waiting} answers.record jobs`);
  console.log(
    `  worker (BullMQ jobs → MongoDB): ${workerRate.toFixed(0)} answers/s (${workerS.toFixed(1)} s)`,
  );
  console.log(`  raw insertMany, batches of 1,000: ${rawRate.toFixed(0)} answers/s (${rawS.toFixed(1)} s)`);
  console.log(`  ratio worker/raw: ${(workerRate / rawRate).toFixed(2)} (target >= 0.5)`);
  const ratio = workerRate / rawRate;
  reportFigures('ingest', [
    { figure: 'worker / raw insertMany', value: ratio, unit: '×', target: '≥ 0.5', met: ratio >= 0.5 },
  ]);
  console.log(
    JSON.stringify({
      n: N,
      jobs: jobs.waiting,
      workerPerS: workerRate,
      rawPerS: rawRate,
      ratio: workerRate / rawRate,
    }),
  );

  await producer.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
