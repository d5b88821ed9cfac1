import type { AnyBulkWriteOperation } from 'mongoose';
import type { z } from 'zod';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { hcmDay } from '../../lib/time';
import type { recordedAnswerSchema, responseMetaSchema } from './response-meta';

type Meta = z.output<typeof responseMetaSchema>;
type RecordedAnswer = z.output<typeof recordedAnswerSchema>;

/**
 * Idempotent persistence of answers and responses. Every write is an upsert keyed by a unique
 * index ((responseId, questionId) for answers, responseId for responses), so a retried or
 * duplicated job, or jobs arriving out of order, store nothing twice and never move a completed
 * response back to "started".
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

function answerOps(responseId: string, answers: RecordedAnswer[], at: Date): AnyBulkWriteOperation[] {
  return answers.map((a) => ({
    updateOne: {
      filter: { responseId, questionId: a.questionId },
      update: {
        $set: { element: a.element, type: a.type, value: a.value, text: a.text },
        $setOnInsert: { responseId, questionId: a.questionId, answeredAt: at },
      },
      upsert: true,
    },
  }));
}

export async function storeAnswer(
  responseId: string,
  meta: Meta,
  answer: RecordedAnswer,
  answeredAt: Date,
): Promise<void> {
  await Response.updateOne(
    { responseId },
    { $setOnInsert: { responseId, ...metaFields(meta), status: 'started' } },
    { upsert: true },
  );
  await Answer.bulkWrite(answerOps(responseId, [answer], answeredAt), { ordered: false });
}

/** True when a 1 or 2 was given on any index element (sipas.md: a "không hài lòng"). */
export function isDissatisfied(answers: RecordedAnswer[]): boolean {
  return answers.some(
    (a) => a.element !== null && typeof a.value === 'number' && (a.value === 1 || a.value === 2),
  );
}

export async function storeCompletion(
  responseId: string,
  meta: Meta,
  answers: RecordedAnswer[],
  completedAt: Date,
): Promise<void> {
  if (answers.length > 0)
    await Answer.bulkWrite(answerOps(responseId, answers, completedAt), { ordered: false });
  await Response.updateOne(
    { responseId },
    {
      $set: {
        ...metaFields(meta),
        status: 'completed',
        completedAt,
        day: hcmDay(completedAt),
        dissatisfied: isDissatisfied(answers),
      },
      $setOnInsert: { responseId },
    },
    { upsert: true },
  );
}
