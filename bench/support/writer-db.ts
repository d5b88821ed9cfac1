import os from 'node:os';
import mongoose from 'mongoose';
import type { ResponseMeta } from '../../bot/conversation/ports';
import { parseEnv, type Env } from '../../config/env';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';

/**
 * What the benches of the ingest writers share (bench/ingest.ts: answers, bench/completions.ts:
 * completions): their settings, one citizen's response meta for every answer, and a fresh
 * database with the answers' and responses' indexes, so that both measure the same writes.
 */

/** The settings of a bench that runs the writers in its own process. */
export function writerBenchEnv(): Env {
  return parseEnv({ PHONE_HASH_KEY: 'bench-only-phone-hash-key', ...process.env, LOG_LEVEL: 'warn' });
}

export const RESPONSE_META: Readonly<ResponseMeta> = Object.freeze({
  dossierCode: null,
  unitCode: '19870',
  procedureCode: '1.001612',
  officerId: 'cb-01',
  dossierChannel: 'in_person',
  onlineLevel: null,
  surveyChannel: 'telegram',
  flowKey: 'default',
  flowVersion: 1,
  lang: 'vi',
  startedAt: new Date().toISOString(),
});

/** The 1, 5 and 15 minute load averages, as the benches print them. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/**
 * Runs `run` on a database of its own, `bench_<label>_<time>`, with the answers' and responses'
 * indexes in place (their upkeep is part of what the writers cost), and drops it after.
 */
export async function withWriterDb<T>(label: string, env: Env, run: () => Promise<T>): Promise<T> {
  await mongoose.connect(env.MONGODB_URI, { dbName: `bench_${label}_${Date.now()}` });
  try {
    await Promise.all([Answer.syncIndexes(), Response.syncIndexes()]);
    return await run();
  } finally {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  }
}
