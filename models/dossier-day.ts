import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * The dossiers of one unit finished on one Asia/Ho_Chi_Minh day (`finishedDay`, models/dossier.ts),
 * for the response rate and the Decision 766 ratio: `completed` those finished or returned, `bad`
 * those of them with a non-excluded dissatisfied response or a case not closed or closed late,
 * whenever these came. Rebuilt whole from the dossiers, their responses and cases by the
 * `rollup.dossiers` job (workers/aggregation/rollups/dossiers.ts) and summed into the month
 * figures (rollup-month.ts). `_id` is `<unitCode>|<YYYY-MM-DD>`; `version` is the run that wrote
 * it: a slower, older run never overwrites a newer one (as for day rollups).
 */
const dossierDaySchema = new Schema(
  {
    _id: { type: String, required: true },
    unitCode: { type: String, required: true },
    day: { type: String, required: true },
    /** `YYYY-MM` of `day`: a month's days are read by equality. */
    month: { type: String, required: true },
    version: { type: Number, required: true },
    completed: { type: Number, required: true },
    bad: { type: Number, required: true },
    computedAt: { type: Date, required: true },
  },
  { minimize: false, collection: 'dossier_days' },
);
dossierDaySchema.index({ unitCode: 1, month: 1 });
dossierDaySchema.index({ unitCode: 1, day: 1 });

export type DossierDayDoc = InferSchemaType<typeof dossierDaySchema>;
export const dossierDayId = (unitCode: string, day: string): string => `${unitCode}|${day}`;
export const DossierDay = model('DossierDay', dossierDaySchema);
