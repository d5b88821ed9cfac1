import { Schema, model, type InferSchemaType } from 'mongoose';
import { cellSchema } from './rollup';

/**
 * The figures of one unit in one Asia/Ho_Chi_Minh month: the sum of its day rollups' totals and
 * breakdowns (by procedure, officer and channel), written by the `rollup.month` job after a day changes
 * (workers/aggregation/rollups/month.ts). A period report without a procedure, officer or channel filter
 * reads their totals for whole months, a report with breakdowns (the console's overview) their
 * breakdowns: a unit-year is 12 documents instead of up to 366.
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
    /**
     * The month's breakdowns, `{byProcedure, byOfficer, byChannel}` summed from its days (groups
     * shaped as in rollup.ts), as one text: one field instead of a few thousand, because
     * FerretDB 1.24 pays for every field of every document it reads, projected or not
     * (bench/RESULTS.md, "aggregation-doc-size"), and their JSON deflated, because it pays per
     * byte too (indices/month-breakdowns.ts, which also reads the plain JSON written before).
     * Null on months written before it was kept: a report with breakdowns reads those months'
     * days instead.
     */
    breakdowns: { type: String, default: null },
    /**
     * The sums of the month's dossier days (dossier-day.ts): dossiers finished or returned, and
     * those of them with dissatisfaction or a case open or closed late. Null on months written
     * before they were kept: a report reads those months' dossier days instead.
     */
    completedDossiers: { type: Number, default: null },
    badDossiers: { type: Number, default: null },
    computedAt: { type: Date, required: true },
  },
  { minimize: false, collection: 'rollup_months' },
);
rollupMonthSchema.index({ unitCode: 1, month: 1 }, { unique: true });

export type RollupMonthDoc = InferSchemaType<typeof rollupMonthSchema>;
export const rollupMonthId = (unitCode: string, month: string): string => `${unitCode}|${month}`;
export const RollupMonth = model('RollupMonth', rollupMonthSchema);
