import { z } from 'zod';
import type { JobContext } from '../registry';
import { defineJob } from '../registry';
import { answerBatcher } from './answer-batch';
import { storeCompletion } from './answer-store';
import { recordedAnswerSchema, responseMetaSchema } from './response-meta';
import { aggregateAfterComplete } from '../aggregation/after-complete';

const schema = z.object({
  responseId: z.string().min(8).max(64),
  meta: responseMetaSchema,
  answers: z.array(recordedAnswerSchema).max(500),
  completedAt: z.iso.datetime(),
});
export type ResponseCompletePayload = z.output<typeof schema>;

/**
 * What else must happen once a response is stored as completed (rollups, cases, funnel counts).
 * Each hook must be idempotent: the job may run more than once.
 */
export const afterResponseComplete: Array<(p: ResponseCompletePayload, ctx: JobContext) => Promise<void>> = [
  aggregateAfterComplete,
];

/** A completed response with all its answers. jobId `done-<responseId>`. */
export const responseComplete = defineJob({
  name: 'response.complete',
  queue: 'ingest',
  schema,
  async handle(p, ctx) {
    // The answers of this survey recorded turn by turn and still in this process's batch go in
    // first: then the completion finds them and only stamps them (answer-store.ts).
    await answerBatcher.drain();
    await storeCompletion(p.responseId, p.meta, p.answers, new Date(p.completedAt));
    for (const hook of afterResponseComplete) await hook(p, ctx);
  },
});
