import type { AnyBulkWriteOperation } from 'mongoose';
import { Answer } from '../../../models/answer';
import { Response } from '../../../models/response';

export interface BackfillResult {
  responses: number;
  answers: number;
}

/**
 * Migration for answers stored before they carried their response's unit and day
 * (models/answer.ts): stamps the answers of every completed response between two days
 * inclusive. Idempotent and safe beside the workers: it only touches answers without a day,
 * by `responseId` equality (an index hit on MongoDB and FerretDB), a batch of responses per
 * round trip. Run it before `rollups rebuild`, which reads answers by unit and day.
 */
export async function backfillAnswerBuckets(from?: string, to?: string, batchSize = 500, onBatch?: (r: BackfillResult) => void): Promise<BackfillResult> {
  const day = from || to ? { ...(from ? { $gte: from } : {}), ...(to ? { $lte: to } : {}) } : { $ne: null };
  const result: BackfillResult = { responses: 0, answers: 0 };
  let ops: AnyBulkWriteOperation[] = [];
  const flush = async () => {
    if (ops.length === 0) return;
    const r = await Answer.bulkWrite(ops, { ordered: false });
    result.answers += r.modifiedCount;
    ops = [];
    onBatch?.({ ...result });
  };
  const cursor = Response.find({ status: 'completed', day }, { _id: 0, responseId: 1, unitCode: 1, day: 1 }).lean().cursor();
  for await (const r of cursor) {
    result.responses++;
    ops.push({ updateMany: { filter: { responseId: r.responseId, day: null }, update: { $set: { unitCode: r.unitCode ?? null, day: r.day } } } });
    if (ops.length >= batchSize) await flush();
  }
  await flush();
  return result;
}
