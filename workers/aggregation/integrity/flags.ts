import { Flag, type FlagParams, type FlagReason } from '../../../models/flag';

/** One response to flag, with the unit-day it counts in. */
export interface FlagTarget {
  responseId: string;
  unitCode: string;
  day: string;
}

/** Flags responses for one reason; idempotent (one flag per response and reason, the first counts kept). */
export async function upsertFlags(
  targets: readonly FlagTarget[],
  reason: FlagReason,
  params: FlagParams,
  now = new Date(),
): Promise<number> {
  if (targets.length === 0) return 0;
  const r = await Flag.bulkWrite(
    targets.map((t) => ({
      updateOne: {
        filter: { responseId: t.responseId, reason },
        update: {
          $setOnInsert: {
            responseId: t.responseId,
            reason,
            unitCode: t.unitCode,
            day: t.day,
            params,
            createdAt: now,
          },
        },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  return r.upsertedCount;
}
