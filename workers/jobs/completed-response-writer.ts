import { isDeepStrictEqual } from 'node:util';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { z } from 'zod';
import { opensCase } from '../../bot/engine/dissatisfaction';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { hcmDay } from '../../lib/time';
import { isDuplicateKey, retryOnDuplicate } from '../../lib/mongo';
import type { recordedAnswerSchema, responseMetaSchema } from './response-meta';

type Meta = z.output<typeof responseMetaSchema>;
type RecordedAnswer = z.output<typeof recordedAnswerSchema>;

/**
 * Idempotent persistence of a completed response and its answers. Every write is an upsert keyed
 * by a unique index ((responseId, questionId) for answers, responseId for responses), so a
 * retried or duplicated job, or jobs arriving out of order, store nothing twice. Answers of a
 * survey in progress are written by in-progress-answer-writer.ts (insert-or-ignore, so a late one never moves
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

function answerOps(
  responseId: string,
  answers: RecordedAnswer[],
  at: Date,
  stamp: Stamp,
): AnyBulkWriteOperation[] {
  return answers.map((a) => ({
    updateOne: {
      filter: { responseId, questionId: a.questionId },
      update: {
        $set: {
          element: a.element,
          type: a.type,
          value: a.value,
          text: a.text,
          unitCode: stamp.unitCode,
          day: stamp.day,
        },
        $setOnInsert: { responseId, questionId: a.questionId, answeredAt: at },
      },
      upsert: true,
    },
  }));
}

/** The stored answer already says what the payload says (and, once stamped, where it counts). */
function upToDate(
  stored: {
    element?: string | null;
    type: string;
    value?: unknown;
    text?: string | null;
    unitCode?: string | null;
    day?: string | null;
  },
  a: RecordedAnswer,
  stamp: Stamp,
): boolean {
  return (
    (stored.element ?? null) === a.element &&
    stored.type === a.type &&
    isDeepStrictEqual(stored.value ?? null, a.value ?? null) &&
    (stored.text ?? null) === (a.text ?? null) &&
    (stored.day == null || (stored.day === stamp.day && (stored.unitCode ?? null) === stamp.unitCode))
  );
}

/**
 * Stores a completed response, unless another response already completed its dossier (one
 * response per dossier: the first to finish; returns 'dossier_taken', stamping nothing): first its answers, stamped with the unit and day they count in,
 * then the response itself. The payload carries every answer of the survey and its values win
 * over those recorded turn by turn: an answer missing or different is upserted (one bulk write,
 * usually empty: the turn-by-turn ones are read first, one query by `responseId`, and left as
 * they are when they say the same); then every answer of the response still without a day gets
 * the stamp (one update by `responseId` equality), the turn-by-turn ones and any that arrived
 * meanwhile. The response is marked completed only after every answer carries its day, so a
 * rollup that sees the response also sees all its answers.
 *
 * The `response.complete` job first waits for the answers this process is still inserting
 * (answerBatcher.drain(), response-complete.ts): otherwise the completion overtakes its own
 * turn-by-turn answers queued in the batcher, upserts them itself, and their batch then fails on
 * the unique index (docs/architecture.md, "An answer is written twice").
 */
export async function storeCompletion(
  responseId: string,
  meta: Meta,
  answers: RecordedAnswer[],
  completedAt: Date,
): Promise<'stored' | 'dossier_taken'> {
  const code = meta.dossierCode;
  // Before anything is stamped: another response completed this dossier already.
  if (code !== null && (await completedByAnother(code, responseId))) return 'dossier_taken';
  const stamp: Stamp = { unitCode: meta.unitCode, day: hcmDay(completedAt) };
  if (answers.length > 0) {
    const stored = await Answer.find(
      { responseId },
      { _id: 0, questionId: 1, element: 1, type: 1, value: 1, text: 1, unitCode: 1, day: 1 },
    ).lean();
    const byQuestion = new Map(stored.map((s) => [s.questionId, s]));
    const changed = answers.filter((a) => {
      const s = byQuestion.get(a.questionId);
      return !s || !upToDate(s, a, stamp);
    });
    if (changed.length > 0)
      await retryOnDuplicate(() =>
        Answer.bulkWrite(answerOps(responseId, changed, completedAt, stamp), { ordered: false }),
      );
  }
  await Answer.updateMany({ responseId, day: null }, { $set: stamp });
  const complete = () =>
    Response.updateOne(
      { responseId },
      {
        $set: {
          ...metaFields(meta),
          status: 'completed',
          completedAt,
          day: stamp.day,
          dissatisfied: opensCase(answers),
        },
        $setOnInsert: { responseId },
      },
      { upsert: true },
    );
  for (let attempt = 1; ; attempt++) {
    try {
      await complete();
      return 'stored';
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
      // Refused on a unique index: either the same responseId inserted concurrently (running the
      // write again updates it) or the dossier held by another response.
      if (code === null) continue;
      const holder = await Response.findOne({ dossierCode: code }, { responseId: 1, status: 1 }).lean();
      if (!holder || holder.responseId === responseId) continue;
      if (holder.status === 'completed') {
        // It completed between our check and our write: ours is not counted, so not stamped.
        await Answer.updateMany({ responseId }, { $set: { unitCode: null, day: null } });
        return 'dossier_taken';
      }
      // A survey of the dossier still in progress (its answers started it): the first to finish
      // is the dossier's response, so that one gives the dossier up.
      await Response.updateOne({ _id: holder._id, status: 'started' }, { $unset: { dossierCode: 1 } });
    }
  }
}

/** Whether another response than `responseId` is the dossier's completed one. */
async function completedByAnother(dossierCode: string, responseId: string): Promise<boolean> {
  const holder = await Response.findOne({ dossierCode, status: 'completed' }, { responseId: 1 }).lean();
  return holder !== null && holder.responseId !== responseId;
}
