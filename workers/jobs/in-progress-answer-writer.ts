import type { Model } from 'mongoose';
import type { z } from 'zod';
import { onlyDuplicateKeys } from '../../lib/mongo';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { Batcher } from './batcher';
import type { recordedAnswerSchema, responseMetaSchema } from './response-meta';

type Meta = z.output<typeof responseMetaSchema>;
type RecordedAnswer = z.output<typeof recordedAnswerSchema>;
export interface AnswerItem {
  responseId: string;
  meta: Meta;
  answer: RecordedAnswer;
  answeredAt: Date;
}

/**
 * Inserts documents, ignoring those a unique index already holds: idempotent for documents
 * that never change once written (an answer of a response; a response's "started" record,
 * which a completed one already supersedes). One round trip for a whole batch.
 */
export async function insertIgnoringDuplicates(model: Model<never>, docs: object[], opts: { lean?: boolean } = {}): Promise<void> {
  if (docs.length === 0) return;
  try {
    // lean: the caller built complete documents, so mongoose's hydration, the largest part of
    // the ingest worker's CPU, is skipped.
    await model.insertMany(docs as never[], { ordered: false, lean: opts.lean === true });
  } catch (err) {
    if (onlyDuplicateKeys(err) === null) throw err;
  }
}

/*
 * Answers written here have no unit and day yet (models/answer.ts defaults them to null): the
 * `response.complete` job stamps them (completed-response-writer.ts). An answer recorded here after its
 * response completed, for a question the completion did not carry, stays unstamped and is not
 * counted: the completion's answers are the survey's final ones.
 */

/** Responses this process already recorded as started: skips an insert that would only be refused. */
const startedSeen = new Set<string>();
const STARTED_SEEN_MAX = 50_000;

async function flush(items: AnswerItem[]): Promise<void> {
  const now = new Date();
  // Every field of models/answer.ts, as mongoose would have filled it (inserted lean, below).
  const answers = items.map((i) => ({
    responseId: i.responseId,
    questionId: i.answer.questionId,
    element: i.answer.element,
    type: i.answer.type,
    value: i.answer.value,
    text: i.answer.text,
    answeredAt: i.answeredAt,
    unitCode: null,
    day: null,
    createdAt: now,
    updatedAt: now,
  }));
  const started = new Map<string, object>();
  for (const i of items) {
    if (started.has(i.responseId) || startedSeen.has(i.responseId)) continue;
    const m = i.meta;
    started.set(i.responseId, {
      responseId: i.responseId,
      ...(m.dossierCode !== null ? { dossierCode: m.dossierCode } : {}),
      unitCode: m.unitCode,
      procedureCode: m.procedureCode,
      officerId: m.officerId,
      dossierChannel: m.dossierChannel,
      onlineLevel: m.onlineLevel,
      surveyChannel: m.surveyChannel,
      flowKey: m.flowKey,
      flowVersion: m.flowVersion,
      lang: m.lang,
      status: 'started',
      startedAt: new Date(m.startedAt),
      // The rest of models/response.ts's defaults: inserted lean, like the answers.
      completedAt: null,
      day: null,
      dissatisfied: false,
      excluded: { at: null, by: null, reason: null },
      createdAt: now,
      updatedAt: now,
    });
  }
  await Promise.all([
    insertIgnoringDuplicates(Answer as unknown as Model<never>, answers, { lean: true }),
    insertIgnoringDuplicates(Response as unknown as Model<never>, [...started.values()], { lean: true }),
  ]);
  if (startedSeen.size > STARTED_SEEN_MAX) startedSeen.clear();
  for (const id of started.keys()) startedSeen.add(id);
}

/** The process's answer batcher: concurrent `answers.record` jobs share one insert. */
export const answerBatcher = new Batcher<AnswerItem>(flush, { maxItems: 1000, maxWaitMs: 10 });
