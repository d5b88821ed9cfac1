import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * Survey funnel counts per unit, procedure and invitation day (Asia/Ho_Chi_Minh), for response
 * rates. Each dossier is counted once per stage: the stage's timestamp on the dossier
 * (Dossier.funnel.*At) is set with a conditional update first, and only the update that set it
 * increments here. Stages are counted on the dossier's invitation day (a cohort), so
 * completed / invited is the response rate of the dossiers invited that day.
 */
const invitationStatSchema = new Schema(
  {
    unitCode: { type: String, required: true },
    procedureCode: { type: String, required: true },
    day: { type: String, required: true },
    invited: { type: Number, default: 0 },
    opened: { type: Number, default: 0 },
    started: { type: Number, default: 0 },
    completed: { type: Number, default: 0 },
  },
  { timestamps: true },
);
invitationStatSchema.index({ unitCode: 1, procedureCode: 1, day: 1 }, { unique: true });
invitationStatSchema.index({ day: 1 });

export type InvitationStatDoc = InferSchemaType<typeof invitationStatSchema>;
export const InvitationStat = model('InvitationStat', invitationStatSchema);
