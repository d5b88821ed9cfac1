import type { AnswerSink } from '../bot/conversation/ports';
import { answerItemSchema, ANSWERS_PER_JOB } from './jobs/answers-record';
import { Batcher } from './jobs/batcher';
import type { JobProducer } from './producer';
import { InvalidPayloadError } from './producer';
import { jobId } from './job-id';

type AnswerPayload = Parameters<AnswerSink['answer']>[0];

export interface AnswerSinkOptions {
  /** How long the first answer of a batch waits for others (ms). */
  batchWaitMs?: number;
}

/**
 * The production AnswerSink. Answers of concurrent turns are batched into one `answers.record`
 * job (at most ANSWERS_PER_JOB, waiting at most `batchWaitMs` for the first one): a turn's
 * `answer()` resolves only once the job holding its answer is in Redis, so an acknowledged turn
 * never loses its answer. Each answer is validated on its own first, so a bad one is refused
 * to its caller and never spoils the batch. A completed response is one `response.complete` job
 * with a stable jobId (BullMQ ignores an id it still holds; the worker's writes are idempotent
 * besides). BullMQ forbids ':' in custom ids, hence '-'.
 */
export function jobAnswerSink(producer: JobProducer, opts: AnswerSinkOptions = {}): AnswerSink {
  const batcher = new Batcher<AnswerPayload>(
    async (items) => {
      await producer.add('answers.record', { items });
    },
    { maxItems: ANSWERS_PER_JOB, maxWaitMs: opts.batchWaitMs ?? 2 },
  );
  return {
    async answer(p) {
      const parsed = answerItemSchema.safeParse(p);
      if (!parsed.success) {
        throw new InvalidPayloadError(
          'answers.record',
          parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.code}`),
        );
      }
      await batcher.add(p);
    },
    async complete(p) {
      await producer.add('response.complete', p, { jobId: jobId('done', p.responseId) });
    },
  };
}
