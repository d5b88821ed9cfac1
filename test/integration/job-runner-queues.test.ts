import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { Outreach } from '../../workers/jobs/invitation-queue';
import { QUEUES } from '../../workers/queues';
import { dispatch, startWorkers } from '../../workers/runner';
import { ingestHarness, testEnv } from '../support/ingest';
import { testRedis } from '../support/services';

const { prefix, redis, producer } = ingestHarness('jobrunner');

test('the runner opens one worker and one connection per registry queue, none for "reminders"', async () => {
  const opened: Redis[] = [];
  const running = await startWorkers({
    ctx: { env: testEnv(prefix), log: logger, redis, prefix },
    producer,
    createConnection: () => {
      const c = testRedis();
      opened.push(c);
      return c;
    },
  });
  try {
    const names = running.workers.map((w) => w.name).sort();
    expect(names).toEqual(['aggregate', 'ingest', 'outbound']);
    expect(names).not.toContain('reminders');
    expect(QUEUES).not.toContain('reminders');
    expect(opened).toHaveLength(names.length);
  } finally {
    await running.close();
  }
});

test('an unknown job name fails at once, never retried', async () => {
  const job = { name: 'nothing.here', data: {}, id: 'x1' } as unknown as Job;
  const base = {
    producer,
    redis,
    prefix,
    env: testEnv(prefix),
    log: logger,
    enqueue: () => Promise.resolve(),
  };
  await expect(dispatch('outreach', job, base)).rejects.toBeInstanceOf(UnrecoverableError);
  await expect(dispatch('ingest', job, base)).rejects.toBeInstanceOf(UnrecoverableError);
  // A known job on another queue than its own is as unknown there.
  const misplaced = { name: 'contact.update', data: {}, id: 'x2' } as unknown as Job;
  await expect(dispatch('aggregate', misplaced, base)).rejects.toBeInstanceOf(UnrecoverableError);
});

test('an unknown outreach job name fails at once, never retried', async () => {
  const outreach = new Outreach({ ctx: { env: testEnv(prefix), log: logger, redis, prefix }, senders: {} });
  try {
    const job = { name: 'nothing.here', data: {}, id: 'x3' } as unknown as Job;
    await expect(outreach.process(job)).rejects.toBeInstanceOf(UnrecoverableError);
  } finally {
    await outreach.close();
  }
});
