import { z } from 'zod';
import { defineJob } from '../registry';
import { storeAnswer } from './answer-store';
import { recordedAnswerSchema, responseMetaSchema } from './response-meta';

/** One answer of a survey in progress. jobId `ans-<responseId>-<questionId>` (app/answer-sink.ts). */
export const answerRecord = defineJob({
  name: 'answer.record',
  queue: 'ingest',
  schema: z.object({
    responseId: z.string().min(8).max(64),
    meta: responseMetaSchema,
    answer: recordedAnswerSchema,
    answeredAt: z.iso.datetime(),
  }),
  async handle(p) {
    await storeAnswer(p.responseId, p.meta, p.answer, new Date(p.answeredAt));
  },
});
