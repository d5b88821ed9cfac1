import type { Queue } from 'bullmq';
import { parseEnv, type Env } from '../../config/env';
import type { RecordedAnswer } from '../../bot/engine/types';
import type { ResponseMeta } from '../../bot/conversation/ports';
import { logger } from '../../lib/logger';
import type { Redis } from 'ioredis';
import { JobProducer } from '../../workers/producer';
import type { QueueName } from '../../workers/queues';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { clearPrefix, connectTestDb, dropTestDb, redisUrl, testPrefix, testRedis } from './services';

/** Test helpers for the ingest jobs: payload builders and waiting on a job's end state. */

export function testEnv(prefix: string): Env {
  return parseEnv({ NODE_ENV: 'test', REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, LOG_LEVEL: 'silent' });
}

export const testLog = logger.child({ test: 'ingest' });

export function meta(overrides: Partial<ResponseMeta> = {}): ResponseMeta {
  return {
    dossierCode: null,
    unitCode: '19870',
    procedureCode: 'DEMO-HT-KHAISINH',
    officerId: 'CB-1',
    dossierChannel: 'in_person',
    onlineLevel: null,
    surveyChannel: 'telegram',
    flowKey: 'default',
    flowVersion: 1,
    lang: 'vi',
    startedAt: '2025-03-10T02:00:00.000Z',
    ...overrides,
  };
}

export function scale(questionId: string, element: string, value: number): RecordedAnswer {
  return { questionId, element, type: 'scale5', value, text: null };
}

export function reasons(
  questionId: string,
  element: string,
  values: string[],
  text: string | null = null,
): RecordedAnswer {
  return { questionId, element, type: 'multi_choice', value: values, text };
}

export function suggestion(text: string): RecordedAnswer {
  return { questionId: 'q7', element: null, type: 'free_text', value: null, text };
}

/** Polls until the job is completed or failed (BullMQ keeps both for a while). */
export async function waitForJob(
  queue: Queue,
  jobId: string,
  timeoutMs = 10_000,
): Promise<'completed' | 'failed'> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const state = await queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') return state;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `job ${jobId} did not finish within ${timeoutMs} ms (state ${await queue.getJobState(jobId)})`,
  );
}

/**
 * Polls until nothing is waiting, active or delayed on any of `queues`. They are read one after
 * another in the order given: name a queue before the queues its jobs add to (ingest, then
 * aggregate, then outbound). A job adds its follow-ups before it completes, so a queue read idle
 * after the one upstream of it was read idle already holds whatever that one added.
 */
export async function waitForIdle(queues: Queue | readonly Queue[], timeoutMs = 10_000): Promise<void> {
  const all = ([] as Queue[]).concat(queues);
  const until = Date.now() + timeoutMs;
  let busy: Record<string, Record<string, number>> = {};
  while (Date.now() < until) {
    busy = {};
    for (const q of all) {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).some((n) => n > 0)) busy[q.name] = c;
    }
    if (Object.keys(busy).length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`queues still busy after ${timeoutMs} ms: ${JSON.stringify(busy)}`);
}

export interface IngestHarness {
  /** This file's own key prefix. */
  readonly prefix: string;
  readonly redis: Redis;
  readonly producer: JobProducer;
  /** Starts the workers of the file's queues (at most once per file); they stop after the file. */
  startIngestWorkers(): Promise<RunningWorkers>;
}

/**
 * What the ingest test files share: a fresh database, a key prefix, a producer, and optionally
 * the workers of `queues` (the ingest queue unless said), started in `beforeAll` (or later, by
 * the test) and all cleaned up after.
 */
export function ingestHarness(
  label: string,
  opts: { workers?: boolean; queues?: readonly QueueName[] } = {},
): IngestHarness {
  const prefix = testPrefix(label);
  const redis = testRedis();
  const producer = new JobProducer(redis, prefix);
  let workers: Promise<RunningWorkers> | null = null;
  const startIngestWorkers = () =>
    (workers ??= startWorkers({
      ctx: { env: testEnv(prefix), log: testLog, redis, prefix },
      producer,
      createConnection: testRedis,
      queues: opts.queues ?? ['ingest'],
    }));
  beforeAll(async () => {
    await connectTestDb(label);
    if (opts.workers) await startIngestWorkers();
  });
  afterAll(async () => {
    await (await workers?.catch(() => null))?.close();
    await producer.close();
    await clearPrefix(redis, prefix);
    await redis.quit();
    await dropTestDb();
  });
  return { prefix, redis, producer, startIngestWorkers };
}
