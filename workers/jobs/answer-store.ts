import type { AnyBulkWriteOperation } from 'mongoose';
import type { z } from 'zod';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { hcmDay } from '../../lib/time';
import { retryOnDuplicate } from '../../lib/mongo';
import type { recordedAnswerSchema, responseMetaSchema } from './response-meta';

type Meta = z.output<typeof responseMetaSchema>;
type RecordedAnswer = z.output<typeof recordedAnswerSchema>;

/**
 * Idempotent persistence of a completed response and its answers. Every write is an upsert keyed
 * by a unique index ((responseId, questionId) for answers, responseId for responses), so a
 * retried or duplicated job, or jobs arriving out of order, store nothing twice. Answers of a
 * survey in progress are written by answer-batch.ts (insert-or-ignore, so a late one never moves
 * a completed response back to "started").
 */
function metaFields(meta: Meta) {
  return {
    // Omitted rather than null when there is no dossier: the unique index on it is sparse.
    ...(meta.dossierCode !== null ? { dossierCode: meta.dossierCode } : {}),
    unitCode: meta.unitCode,
    procedureCode: meta.procedureCode,
    officerId: meta.officerId,
    dossierChannel: meta.dossierChannel,
    onlineLevel: meta.onlineLevel,
    surveyChannel: meta.surveyChannel,
    flowKey: meta.flowKey,
    flowVersion: meta.flowVersion,
    lang: meta.lang,
    startedAt: new Date(meta.startedAt),
  };
}

/** Where a completed response's answers are counted: copied onto each answer (models/answer.ts). */
interface Stamp {
  unitCode: string | null;
  day: string;
}

function answerOps(responseId: string, answers: RecordedAnswer[], at: Date, stamp: Stamp): AnyBulkWriteOperation[] {
  return answers.map((a) => ({
    updateOne: {
      filter: { responseId, questionId: a.questionId },
      update: {
        $set: { element: a.element, type: a.type, value: a.value, text: a.text, unitCode: stamp.unitCode, day: stamp.day },
        $setOnInsert: { responseId, questionId: a.questionId, answeredAt: at },
      },
      upsert: true,
    },
  }));
}

/** True when a 1 or 2 was given on any index element (sipas.md: a "không hài lòng"). */
export function isDissatisfied(answers: RecordedAnswer[]): boolean {
  return answers.some(
    (a) => a.element !== null && typeof a.value === 'number' && (a.value === 1 || a.value === 2),
  );
}

/**
 * Stores a completed response: first its answers, stamped with the unit and day they count in
 * (one bulk upsert: the payload carries every answer of the survey, and its values win over
 * those recorded turn by turn), then any answer of the response recorded turn by turn but
 * missing from the payload gets the same stamp (one update by `responseId` equality, usually
 * matching nothing), and last the response itself. The response is marked completed only after
 * every answer carries its day, so a rollup that sees the response also sees all its answers.
 */
export async function storeCompletion(
  responseId: string,
  meta: Meta,
  answers: RecordedAnswer[],
  completedAt: Date,
): Promise<void> {
  const stamp: Stamp = { unitCode: meta.unitCode, day: hcmDay(completedAt) };
  if (answers.length > 0)
    await retryOnDuplicate(() =>
      Answer.bulkWrite(answerOps(responseId, answers, completedAt, stamp), { ordered: false }),
    );
  await Answer.updateMany({ responseId, day: null }, { $set: stamp });
  await retryOnDuplicate(() =>
    Response.updateOne(
      { responseId },
      {
        $set: {
          ...metaFields(meta),
          status: 'completed',
          completedAt,
          day: stamp.day,
          dissatisfied: isDissatisfied(answers),
        },
        $setOnInsert: { responseId },
      },
      { upsert: true },
    ),
  );
}
