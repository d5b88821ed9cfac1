import type { AnswerSink } from '../bot/conversation/ports';
import type { JobProducer } from '../workers/producer';

/**
 * The production AnswerSink: each answer and each completed response becomes a job with a
 * stable jobId, so a replayed turn or a duplicated enqueue adds nothing (BullMQ ignores a
 * jobId it already holds; the worker's upserts are idempotent besides).
 * BullMQ forbids ':' in custom ids, hence '-'.
 */
export function jobAnswerSink(producer: JobProducer): AnswerSink {
  return {
    async answer(p) {
      await producer.add('answer.record', p, { jobId: `ans-${p.responseId}-${p.answer.questionId}` });
    },
    async complete(p) {
      await producer.add('response.complete', p, { jobId: `done-${p.responseId}` });
    },
  };
}
