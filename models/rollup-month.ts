import { Schema, model, type InferSchemaType } from 'mongoose';
import { cellSchema } from './rollup';

/**
 * The whole-unit totals of one unit in one Asia/Ho_Chi_Minh month: the sum of its day rollups'
 * totals (no breakdowns), written by the `rollup.month` job after a day changes
 * (workers/aggregation/rollups/month.ts). A period report without a procedure, officer or channel filter
 * reads these for whole months: a unit-year is 12 small documents instead of 366 large ones.
 * `_id` is `<unitCode>|<YYYY-MM>`; `version` is the run that wrote it, as for day rollups.
 */
const rollupMonthSchema = new Schema(
  {
    _id: { type: String, required: true },
    unitCode: { type: String, required: true },
    month: { type: String, required: true },
    formulaVersion: { type: Number, required: true },
    version: { type: Number, required: true },
    /** How many day rollups were summed. */
    days: { type: Number, required: true },
    responses: { type: Number, required: true },
    dissatisfiedResponses: { type: Number, required: true },
    excluded: { type: Number, required: true },
    total: { type: [cellSchema], default: [] },
    computedAt: { type: Date, required: true },
  },
  { minimize: false, collection: 'rollup_months' },
);
rollupMonthSchema.index({ unitCode: 1, month: 1 }, { unique: true });

export type RollupMonthDoc = InferSchemaType<typeof rollupMonthSchema>;
export const rollupMonthId = (unitCode: string, month: string): string => `${unitCode}|${month}`;
export const RollupMonth = model('RollupMonth', rollupMonthSchema);
