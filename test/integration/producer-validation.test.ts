import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { InvalidPayloadError, UnknownJobError } from '../../workers/producer';
import { REGISTRY_ATTEMPTS } from '../../workers/queues';
import { ingestHarness, meta, scale, waitForJob } from '../support/ingest';

const { prefix, redis, producer, startIngestWorkers } = ingestHarness('producer');

const ingest = () => producer.getQueue('ingest');
const queued = async () => {
  const c = await ingest().getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  return Object.values(c).reduce((a, b) => a + b, 0);
};

describe('on add (no worker running)', () => {
  test('an invalid payload is refused with the paths at fault and nothing is enqueued', async () => {
    const bad = {
      responseId: 'short',
      meta: { ...meta(), surveyChannel: 'sms' },
      answer: scale('q1', 'TIEP_CAN', 4),
      answeredAt: 'yesterday',
    };
    // @ts-expect-error the payload type refuses 'sms' as a survey channel
    const attempt = producer.add('answers.record', { items: [bad] }, { jobId: 'never' });
    await expect(attempt).rejects.toBeInstanceOf(InvalidPayloadError);
    await expect(attempt).rejects.toThrow(/responseId.*meta\.surveyChannel.*answeredAt/s);
    expect(await queued()).toBe(0);
    expect(await ingest().getJob('never')).toBeUndefined();
  });

  test('the error names paths, never the values (they may be personal data)', async () => {
    const err = (await producer
      .add('answers.record', {
        items: [
          {
            responseId: 'resp-0000-0001',
            meta: meta(),
            answer: { ...scale('q7', 'TONG_THE', 4), text: 'x'.repeat(5000) },
            answeredAt: '2025-03-10T02:00:00.000Z',
          },
        ],
      })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(InvalidPayloadError);
    expect(err.message).toContain('answer.text');
    expect(err.message).not.toContain('xxxx');
  });

  test('an unknown job name is refused', async () => {
    // @ts-expect-error not a registered job
    await expect(producer.add('answer.delete', {})).rejects.toBeInstanceOf(UnknownJobError);
    expect(await queued()).toBe(0);
  });

  test('one bad item in addBulk enqueues none of them', async () => {
    const item = {
      responseId: 'resp-bulk-0001',
      meta: meta(),
      answer: scale('q1', 'TIEP_CAN', 4),
      answeredAt: '2025-03-10T02:00:00.000Z',
    };
    const good = { payload: { items: [item] } };
    const bad = { payload: { items: [{ ...item, answeredAt: 'now' }] } };
    await expect(producer.addBulk('answers.record', [good, bad, good])).rejects.toBeInstanceOf(
      InvalidPayloadError,
    );
    expect(await queued()).toBe(0);
  });

  test('jobs live under the context prefix', async () => {
    const id = await producer.add(
      'answers.record',
      {
        items: [
          {
            responseId: 'resp-pfx-00001',
            meta: meta(),
            answer: scale('q1', 'TIEP_CAN', 4),
            answeredAt: '2025-03-10T02:00:00.000Z',
          },
        ],
      },
      { jobId: 'ans-resp-pfx-00001-q1' },
    );
    expect(await redis.exists(`${prefix}:ingest:${id}`)).toBe(1);
    expect(await queued()).toBe(1);
  });
});

describe('in the worker', () => {
  beforeAll(async () => {
    await startIngestWorkers();
  });

  test('a valid job added before the worker started is processed', async () => {
    expect(await waitForJob(ingest(), 'ans-resp-pfx-00001-q1')).toBe('completed');
    expect(await Answer.countDocuments({ responseId: 'resp-pfx-00001' })).toBe(1);
  });

  test('an invalid payload smuggled past the producer fails at once, unrecoverable, storing nothing', async () => {
    // Straight onto the BullMQ queue, as an older release or a hand-made job would.
    const job = await ingest().add('response.complete', {
      responseId: 'resp-smuggled1',
      meta: meta(),
      answers: 'all of them',
    });
    expect(await waitForJob(ingest(), job.id!)).toBe('failed');
    const failed = await ingest().getJob(job.id!);
    expect(failed?.failedReason).toMatch(/invalid payload for response\.complete: answers, completedAt/);
    // Many attempts are allowed by default; an unrecoverable error uses one.
    expect(failed?.opts.attempts).toBe(REGISTRY_ATTEMPTS);
    expect(failed?.attemptsMade).toBe(1);
    expect(await Response.countDocuments({ responseId: 'resp-smuggled1' })).toBe(0);
  });

  test('an unknown job name on the queue fails at once, unrecoverable', async () => {
    const job = await ingest().add('answer.delete', { responseId: 'x' });
    expect(await waitForJob(ingest(), job.id!)).toBe('failed');
    const failed = await ingest().getJob(job.id!);
    expect(failed?.failedReason).toMatch(/unknown job "answer\.delete" on queue ingest/);
    expect(failed?.attemptsMade).toBe(1);
  });
});
