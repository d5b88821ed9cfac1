import { isDeepStrictEqual } from 'node:util';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { z } from 'zod';
import { opensCase } from '../../bot/engine/dissatisfaction';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { hcmDay } from '../../lib/time';
import { isDuplicateKey, onlyDuplicateKeys, retryOnDuplicate } from '../../lib/mongo';
import { Batcher } from './batcher';
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

/** A completed response, as the `response.complete` job carries it. */
export interface Completion {
  responseId: string;
  meta: Meta;
  answers: RecordedAnswer[];
  completedAt: Date;
}
export type CompletionOutcome = 'stored' | 'dossier_taken';

const STORED_FIELDS = { _id: 0, questionId: 1, element: 1, type: 1, value: 1, text: 1, unitCode: 1, day: 1 };
const stampOf = (c: Completion): Stamp => ({ unitCode: c.meta.unitCode, day: hcmDay(c.completedAt) });

/**
 * Stores a completed response, unless another response already completed its dossier (one
 * response per dossier: the first to finish; resolves 'dossier_taken', stamping nothing): first
 * its answers, stamped with the unit and day they count in, then the response itself. The
 * payload carries every answer of the survey and its values win over those recorded turn by
 * turn: an answer missing or different is upserted (usually none: the turn-by-turn ones are read
 * first and left as they are when they say the same); then every answer of the response still
 * without a day gets the stamp (one update by `responseId` equality), the turn-by-turn ones and
 * any that arrived meanwhile. The response is marked completed only after every answer carries
 * its day, so a rollup that sees the response also sees all its answers.
 *
 * Concurrent completions in this process are written together (completionBatcher, below): the
 * round trips are per batch, not per response (bench/RESULTS.md, "soak").
 *
 * The `response.complete` job first waits for the answers this process is still inserting
 * (answerBatcher.drain(), response-complete.ts): otherwise the completion overtakes its own
 * turn-by-turn answers queued in the batcher, upserts them itself, and their batch then fails on
 * the unique index (docs/architecture.md, "An answer is written twice").
 */
export function storeCompletion(
  responseId: string,
  meta: Meta,
  answers: RecordedAnswer[],
  completedAt: Date,
): Promise<CompletionOutcome> {
  return completionBatcher.add({ responseId, meta, answers, completedAt });
}

/**
 * One batch of completions in three waves of round trips whatever its size: the reads of each
 * response (its stored answers; with a dossier, whether another response completed it) all at
 * once, then one bulk write of the answers (upserts of those missing or different, and the stamp
 * of each response's unstamped ones), then, once it landed, one bulk write of the responses.
 * The reads stay one per response: a single `$in` over the batch would be one round trip on
 * MongoDB, but FerretDB 1.24 pushes only equalities down to PostgreSQL
 * (internal/backends/postgresql/query.go, prepareWhereClause), so there it reads the whole
 * collection. Each write is an upsert or a conditional update, so a batch failed half way (or a
 * process killed in it: its jobs are not acked) is written again by the retried jobs without
 * storing anything twice. A refusal on a unique index (a dossier held by another response) is
 * settled response by response (resolveRefused), never failing the batch.
 */
async function writeCompletions(items: Completion[]): Promise<PromiseSettledResult<CompletionOutcome>[]> {
  const reads = await Promise.all(items.map(readBefore));
  const live: Completion[] = [];
  const answerWrites: AnyBulkWriteOperation[] = [];
  items.forEach((c, i) => {
    const { taken, stored } = reads[i]!;
    if (taken) return;
    live.push(c);
    const stamp = stampOf(c);
    const changed = c.answers.filter((a) => {
      const s = stored.get(a.questionId);
      return !s || !upToDate(s, a, stamp);
    });
    answerWrites.push(...answerOps(c.responseId, changed, c.completedAt, stamp), {
      updateMany: { filter: { responseId: c.responseId, day: null }, update: { $set: stamp } },
    });
  });
  // Every stamp of the batch lands before any of its responses is marked completed.
  if (answerWrites.length > 0) await retryOnDuplicate(() => Answer.bulkWrite(answerWrites, WRITE_OPTIONS));

  // Refused on a unique index: each response of the batch is settled on its own, written again
  // (an idempotent upsert) after its dossier's holder is looked at. Not only those the error
  // names: FerretDB 1.24 names the wrong ones (an unordered write whose second upsert was
  // refused reported position 0 and the first operation, which had landed).
  let refused = false;
  if (live.length > 0) {
    try {
      await Response.bulkWrite(live.map(completeOp), WRITE_OPTIONS);
    } catch (err) {
      if (onlyDuplicateKeys(err) === null) throw err;
      refused = true;
    }
  }
  const outcomes = new Map(
    live.map((c) => [c, refused ? resolveRefused(c) : Promise.resolve<CompletionOutcome>('stored')] as const),
  );
  return Promise.allSettled(
    items.map((c) => outcomes.get(c) ?? Promise.resolve<CompletionOutcome>('dossier_taken')),
  );
}

/**
 * Unordered, so one refused operation does not stop the others; a validation error throws
 * instead of dropping its operation silently (mongoose's default for an unordered bulk write).
 */
const WRITE_OPTIONS = { ordered: false, throwOnValidationError: true };

type StoredAnswer = Parameters<typeof upToDate>[0] & { questionId: string };

/** What a completion reads before it writes: taken by another response?, its stored answers. */
async function readBefore(c: Completion): Promise<{ taken: boolean; stored: Map<string, StoredAnswer> }> {
  const [taken, stored] = await Promise.all([
    // Before anything is stamped: another response completed this dossier already.
    c.meta.dossierCode !== null ? completedByAnother(c.meta.dossierCode, c.responseId) : false,
    c.answers.length > 0
      ? Answer.find({ responseId: c.responseId }, STORED_FIELDS).lean<StoredAnswer[]>()
      : ([] as StoredAnswer[]),
  ]);
  return { taken, stored: new Map(stored.map((s) => [s.questionId, s] as const)) };
}

/** The write that marks a response completed (an upsert: its "started" record may be missing). */
function completeOp(c: Completion): AnyBulkWriteOperation {
  return {
    updateOne: {
      filter: { responseId: c.responseId },
      update: {
        $set: {
          ...metaFields(c.meta),
          status: 'completed',
          completedAt: c.completedAt,
          day: stampOf(c).day,
          dissatisfied: opensCase(c.answers),
        },
        $setOnInsert: { responseId: c.responseId },
      },
      upsert: true,
    },
  };
}

/**
 * A response of a batch whose completing write a unique index refused, perhaps this one's: the
 * same responseId inserted concurrently (running the write again updates it) or the dossier held
 * by another response. For a response whose write had landed, the write again changes nothing.
 */
async function resolveRefused(c: Completion): Promise<CompletionOutcome> {
  const code = c.meta.dossierCode;
  for (let attempt = 2; ; attempt++) {
    if (code !== null) {
      const holder = await Response.findOne({ dossierCode: code }, { responseId: 1, status: 1 }).lean();
      if (holder && holder.responseId !== c.responseId) {
        if (holder.status === 'completed') {
          // It completed between our check and our write: ours is not counted, so not stamped.
          await Answer.updateMany({ responseId: c.responseId }, { $set: { unitCode: null, day: null } });
          return 'dossier_taken';
        }
        // A survey of the dossier still in progress (its answers started it): the first to
        // finish is the dossier's response, so that one gives the dossier up.
        await Response.updateOne({ _id: holder._id, status: 'started' }, { $unset: { dossierCode: 1 } });
      }
    }
    try {
      await Response.bulkWrite([completeOp(c)], WRITE_OPTIONS);
      return 'stored';
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
    }
  }
}

/**
 * The process's completion batcher: concurrent `response.complete` jobs share their round trips.
 * At most 200 a batch, so that one batch's writes stay well within a bulk write's size.
 */
export const completionBatcher = new Batcher<Completion, CompletionOutcome>(writeCompletions, {
  maxItems: 200,
  maxWaitMs: 10,
});

/** Whether another response than `responseId` is the dossier's completed one. */
async function completedByAnother(dossierCode: string, responseId: string): Promise<boolean> {
  const holder = await Response.findOne({ dossierCode, status: 'completed' }, { responseId: 1 }).lean();
  return holder !== null && holder.responseId !== responseId;
}
