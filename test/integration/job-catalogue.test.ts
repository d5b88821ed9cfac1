import { JOBS } from '../../workers/jobs';
import { InvalidPayloadError } from '../../workers/producer';
import { QUEUE_TABLE, QUEUES, type QueueName } from '../../workers/queues';
import { queuesOf } from '../../workers/registry';
import { allWorkers, startQueueWorkers, type JobRun, type RunningWorkers } from '../../workers/runner';
import { ingestHarness, testEnv, testLog } from '../support/ingest';
import { testRedis } from '../support/services';
import { until } from '../support/until';

const { prefix, redis, producer } = ingestHarness('jobcatalogue');

/** A job of the queue, by name. */
const jobOf = (queue: QueueName) => JOBS.find((j) => queuesOf(j).includes(queue))!;

test('every queue of the table runs jobs of the catalogue, and every job runs on a queue of the table', () => {
  for (const job of JOBS) for (const q of queuesOf(job)) expect(QUEUES).toContain(q);
  for (const q of QUEUES) expect(jobOf(q)).toBeDefined();
  // The permit queue of the Zalo rate limiter is a semaphore, not a queue of jobs.
  expect(QUEUES).not.toContain('zalo-api');
  expect(QUEUES).not.toContain('reminders');
});

test("every queue's default job options are frozen all the way down and remove finished jobs", () => {
  for (const q of QUEUES) {
    const o = QUEUE_TABLE[q].jobOptions;
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.backoff)).toBe(true);
    expect(o.removeOnComplete).toBeDefined();
    expect(o.removeOnFail).toBeDefined();
    expect(o.attempts).toBeGreaterThan(1);
  }
});

test('a bad payload is refused on add for every job, and nothing is enqueued', async () => {
  for (const job of JOBS) {
    const queue = queuesOf(job)[0]!;
    const attempt = producer.addByName(job.name, 'not a payload', { jobId: `bad-${job.name}`, queue });
    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    expect(await producer.getQueue(queue).getJob(`bad-${job.name}`)).toBeUndefined();
  }
});

test('a job of several queues must be told which, and only one of its own', async () => {
  const delivery = { b: 'b1', c: 'c1', u: '42', l: 'vi' as const };
  await expect(producer.add('broadcast.deliver', delivery)).rejects.toThrow(/say which/);
  await expect(producer.add('broadcast.deliver', delivery, { queue: 'ingest' })).rejects.toThrow(/say which/);
});

test('an id that would rely on BullMQ\'s three-part exception for ":" is refused', async () => {
  const payload = { dossierCode: 'D-1' };
  await expect(producer.add('invitation.send', payload, { jobId: 'rem:D-1:1' })).rejects.toThrow(
    /contains ':'/,
  );
  await expect(producer.add('invitation.send', payload, { jobId: '123' })).rejects.toThrow(/integer/);
  expect(await producer.getQueue('outreach').count()).toBe(0);
});

describe('on process', () => {
  let running: RunningWorkers;
  const runs: JobRun[] = [];

  beforeAll(async () => {
    const ctx = { env: testEnv(prefix), log: testLog, redis, prefix };
    // No deps: neither an unknown name nor a bad payload may reach a handler.
    running = allWorkers(
      await Promise.all(
        QUEUES.map((queue) =>
          startQueueWorkers({
            ctx,
            producer,
            createConnection: testRedis,
            queue,
            sizing: { concurrency: 1, fetchers: 1, limiter: null },
            observe: (r) => runs.push(r),
          }),
        ),
      ),
    );
  });
  afterAll(() => running.close());

  test.each(QUEUES)('on %s, an unknown name and a bad payload fail at once, never retried', async (queue) => {
    // Added as an older release or a hand could add them: past the producer's checks.
    const raw = producer.getQueue(queue);
    const unknown = await raw.add('nothing.here', {}, { jobId: `unknown-${queue}` });
    const bad = await raw.add(jobOf(queue).name, 'not a payload', { jobId: `badpayload-${queue}` });
    for (const job of [unknown, bad]) {
      await until(async () => (await raw.getJobState(job.id!)) === 'failed', `${job.id} to fail`, 30_000);
      const failed = (await raw.getJob(job.id!))!;
      // Its queue would retry an ordinary error (attempts > 1): this one ran once.
      expect(failed.opts.attempts).toBeGreaterThan(1);
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(job === unknown ? /unknown job "nothing.here"/ : /invalid payload/);
    }
    // The observer hears of both runs, with their queue.
    expect(runs.filter((r) => r.queue === queue && r.outcome === 'failed')).toHaveLength(2);
  });
});
