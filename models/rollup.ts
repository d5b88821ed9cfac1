import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * Counts of one unit on one Asia/Ho_Chi_Minh day, rebuilt whole from the raw answers by the
 * `rollup.recompute` job (workers/aggregation). Month, quarter and year are sums of days, done
 * in code; whole months also have their totals in rollup-month.ts. `version` is the run that
 * wrote it: a slower, older run never overwrites a newer one.
 */
export const cellSchema = new Schema(
  {
    element: { type: String, required: true },
    questionId: { type: String, required: true },
    n: { type: Number, required: true },
    satisfied: { type: Number, required: true },
    dissatisfied: { type: Number, required: true },
    na: { type: Number, required: true },
  },
  { _id: false },
);

/** One slice of the day: a procedure, an officer or a channel (in_person, online_3, online_4, post). */
const groupSchema = new Schema(
  {
    key: { type: String, required: true },
    responses: { type: Number, required: true },
    dissatisfiedResponses: { type: Number, required: true },
    cells: { type: [cellSchema], default: [] },
  },
  { _id: false },
);

const rollupSchema = new Schema(
  {
    unitCode: { type: String, required: true },
    day: { type: String, required: true },
    /** `YYYY-MM` of `day`: a month's days are read by equality (rollup-month.ts). Absent on documents written before it existed, until `hailong rollups rebuild`. */
    month: { type: String, default: null },
    formulaVersion: { type: Number, required: true },
    version: { type: Number, required: true },
    responses: { type: Number, required: true },
    dissatisfiedResponses: { type: Number, required: true },
    /** Completed responses left out by an admin (integrity), not in any count above. */
    excluded: { type: Number, required: true },
    total: { type: [cellSchema], default: [] },
    byProcedure: { type: [groupSchema], default: [] },
    byOfficer: { type: [groupSchema], default: [] },
    byChannel: { type: [groupSchema], default: [] },
    computedAt: { type: Date, required: true },
  },
  { minimize: false },
);
rollupSchema.index({ unitCode: 1, day: 1 }, { unique: true });
rollupSchema.index({ day: 1 });
rollupSchema.index({ unitCode: 1, month: 1 });

export type RollupDoc = InferSchemaType<typeof rollupSchema>;
export type RollupCell = InferSchemaType<typeof cellSchema>;
export type RollupGroup = InferSchemaType<typeof groupSchema>;
export const Rollup = model('Rollup', rollupSchema);
