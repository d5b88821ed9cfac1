import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * One citizen's response to one dossier's survey. No contact id, no phone, no chat id: the
 * link to identity lives only in Session (Law 91/2025/QH15). One response per dossier.
 */
const responseSchema = new Schema(
  {
    responseId: { type: String, required: true },
    /** Absent (not null) for a survey started without a dossier, so the sparse unique index skips it. */
    dossierCode: { type: String },
    unitCode: { type: String, default: null },
    procedureCode: { type: String, default: null },
    officerId: { type: String, default: null },
    /** The dossier's channel: in_person | online | post; with onlineLevel 3/4. */
    dossierChannel: { type: String, default: null },
    onlineLevel: { type: Number, default: null },
    /** Where the survey was answered: telegram | zalo | web. */
    surveyChannel: { type: String, required: true },
    flowKey: { type: String, required: true },
    flowVersion: { type: Number, required: true },
    lang: { type: String, default: 'vi' },
    status: { type: String, enum: ['started', 'completed'], required: true },
    startedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    /** Asia/Ho_Chi_Minh calendar day of completion, YYYY-MM-DD. */
    day: { type: String, default: null },
    dissatisfied: { type: Boolean, default: false },
    excluded: {
      at: { type: Date, default: null },
      by: { type: String, default: null },
      reason: { type: String, default: null },
    },
  },
  { timestamps: true },
);
responseSchema.index({ responseId: 1 }, { unique: true });
// One response per dossier. Sparse, not partial: FerretDB 1.24 has no partial indexes.
responseSchema.index({ dossierCode: 1 }, { unique: true, sparse: true });
responseSchema.index({ unitCode: 1, day: 1 });
responseSchema.index({ status: 1, completedAt: 1 });

export type ResponseDoc = InferSchemaType<typeof responseSchema>;
export const Response = model('Response', responseSchema);
