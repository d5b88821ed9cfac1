import { z } from 'zod';
import { defineJob } from '../registry';
import { answerBatcher } from './answer-batch';
import { recordedAnswerSchema, responseMetaSchema } from './response-meta';

/**
 * One answer of a survey in progress. jobId `ans-<responseId>-<questionId>` (app/answer-sink.ts).
 * Concurrent jobs are written together (answer-batch.ts): insert-or-ignore on the unique
 * (responseId, questionId) index, so a duplicate or retried job stores nothing twice and a late
 * answer never reverts a completed response.
 */
export const answerItemSchema = z.object({
  responseId: z.string().min(8).max(64),
  meta: responseMetaSchema,
  answer: recordedAnswerSchema,
  answeredAt: z.iso.datetime(),
});

export const answerRecord = defineJob({
  name: 'answer.record',
  queue: 'ingest',
  schema: answerItemSchema,
  async handle(p) {
    await answerBatcher.add({ responseId: p.responseId, meta: p.meta, answer: p.answer, answeredAt: new Date(p.answeredAt) });
  },
});
