import { z } from 'zod';
import { defineJob } from '../registry';
import { answerBatcher } from './in-progress-answer-writer';
import { recordedAnswerSchema, responseMetaSchema } from './response-meta';

/** Most answers one `answers.record` job carries (workers/answer-sink.ts batches up to this). */
export const ANSWERS_PER_JOB = 200;

/** One answer of a survey in progress, as the answer sink validates it before batching. */
export const answerItemSchema = z.object({
  responseId: z.string().min(8).max(64),
  meta: responseMetaSchema,
  answer: recordedAnswerSchema,
  answeredAt: z.iso.datetime(),
});

/**
 * Several answers of surveys in progress, batched by the producer (workers/answer-sink.ts): one
 * BullMQ job per batch instead of one per answer, because the per-job cost of the queue (two
 * Lua scripts and their round trips) is what bounds ingest, not the database. Concurrent jobs
 * are written together (in-progress-answer-writer.ts): insert-or-ignore on the unique
 * (responseId, questionId) index, so a retried job, a replayed turn or an answer in two batches
 * is stored once and a late answer never reverts a completed response. No jobId: duplicates are
 * harmless and a batch has no natural identity.
 */
export const answersRecord = defineJob({
  name: 'answers.record',
  queue: 'ingest',
  schema: z.object({ items: z.array(answerItemSchema).min(1).max(ANSWERS_PER_JOB) }),
  async handle(p) {
    await Promise.all(
      p.items.map((i) =>
        answerBatcher.add({
          responseId: i.responseId,
          meta: i.meta,
          answer: i.answer,
          answeredAt: new Date(i.answeredAt),
        }),
      ),
    );
  },
});
