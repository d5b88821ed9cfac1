import { z } from 'zod';
import { defineJob } from '../registry';
import { answerBatcher } from './answer-batch';
import { answerItemSchema } from './answer-record';

/** Most answers one `answers.record` job carries (app/answer-sink.ts batches up to this). */
export const ANSWERS_PER_JOB = 200;

/**
 * Several answers of surveys in progress, batched by the producer (app/answer-sink.ts): one
 * BullMQ job per batch instead of one per answer, because the per-job cost of the queue (two
 * Lua scripts and their round trips) is what bounds ingest, not the database. Same write as
 * `answer.record` (insert-or-ignore on the unique (responseId, questionId) index), so a retried
 * job, a replayed turn or an answer in two batches is stored once. No jobId: duplicates are
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
