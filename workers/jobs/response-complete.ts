import { z } from 'zod';
import type { JobContext } from '../registry';
import { defineJob } from '../registry';
import { answerBatcher } from './in-progress-answer-writer';
import { storeCompletion } from './completed-response-writer';
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
    // first: then the completion finds them and only stamps them (completed-response-writer.ts).
    await answerBatcher.drain();
    const outcome = await storeCompletion(p.responseId, p.meta, p.answers, new Date(p.completedAt));
    if (outcome === 'dossier_taken') {
      // Final, not a failure to retry: two chats opened the same dossier's link and the other
      // finished first (the bot tells the second so; this is the guarantee if Redis forgot).
      ctx.log.info(
        { responseId: p.responseId, dossier: p.meta.dossierCode },
        'response.complete: dossier already answered by another response; not counted',
      );
      return outcome;
    }
    for (const hook of afterResponseComplete) await hook(p, ctx);
    return outcome;
  },
});
