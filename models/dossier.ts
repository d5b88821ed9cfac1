import { Schema, model, type InferSchemaType } from 'mongoose';

/** A dossier (hồ sơ) as the one-stop system reports it. Holds no plain phone number: only its keyed hash. */
const dossierSchema = new Schema(
  {
    code: { type: String, required: true },
    procedureCode: { type: String, required: true },
    procedureName: { type: String, default: null },
    unitCode: { type: String, required: true },
    channel: { type: String, enum: ['in_person', 'online', 'post'], required: true },
    onlineLevel: { type: Number, enum: [2, 3, 4, null], default: null },
    receivedAt: { type: Date, default: null },
    dueAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    returnedAt: { type: Date, default: null },
    status: { type: String, enum: ['received', 'processing', 'finished', 'returned', 'cancelled'], required: true },
    officerId: { type: String, default: null },
    applicantPhoneHash: { type: String, default: null },
    /** Contacts already linked to this dossier's applicant (ids of Contact), for proactive invitations. */
    contactIds: { type: [Schema.Types.ObjectId], default: [] },
    survey: {
      token: { type: String, default: null },
      issuedAt: { type: Date, default: null },
      expiresAt: { type: Date, default: null },
      responseId: { type: String, default: null },
    },
    source: { type: String, default: 'api' },
  },
  { timestamps: true },
);
dossierSchema.index({ code: 1 }, { unique: true });
dossierSchema.index({ 'survey.token': 1 }, { unique: true, partialFilterExpression: { 'survey.token': { $type: 'string' } } });
dossierSchema.index({ unitCode: 1, finishedAt: 1 });

export type DossierDoc = InferSchemaType<typeof dossierSchema>;
export const Dossier = model('Dossier', dossierSchema);
