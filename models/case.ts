import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A dissatisfaction case (Decision 766: every "không hài lòng" becomes a tracked complaint).
 * One per response (`caseId` = "case-<responseId>"), so a retried job opens nothing twice.
 * Holds no phone number, chat id or name; `items` carry the element, the score and the reason
 * option values chosen (never the free text).
 */
const itemSchema = new Schema(
  {
    element: { type: String, required: true },
    questionId: { type: String, required: true },
    value: { type: Number, required: true },
    reasons: { type: [String], default: [] },
  },
  { _id: false },
);

const logSchema = new Schema(
  {
    at: { type: Date, required: true },
    by: { type: String, required: true },
    action: {
      type: String,
      enum: [
        'opened',
        'notified',
        'acknowledged',
        'assigned',
        'note',
        'escalated',
        'closed',
        'follow_up_sent',
        'follow_up_failed',
        'reopened',
      ],
      required: true,
    },
    /** An official's note, or the text sent to the citizen. May name people: never logged, shown only to the unit. */
    note: { type: String, default: null },
    /** A code, never free text: the channel a follow-up went by, or why it could not be sent (follow-up.ts). */
    detail: { type: String, default: null },
  },
  { _id: false },
);

const caseSchema = new Schema(
  {
    caseId: { type: String, required: true },
    responseId: { type: String, required: true },
    dossierCode: { type: String, default: null },
    unitCode: { type: String, required: true },
    procedureCode: { type: String, default: null },
    officerId: { type: String, default: null },
    items: { type: [itemSchema], default: [] },
    status: { type: String, enum: ['open', 'in_progress', 'closed'], required: true },
    openedAt: { type: Date, required: true },
    dueAt: { type: Date, required: true },
    /** Asia/Ho_Chi_Minh day of opening, for period filters without date operators. */
    day: { type: String, required: true },
    notifiedAt: { type: Date, default: null },
    escalatedAt: { type: Date, default: null },
    escalatedTo: { type: String, default: null },
    /** The official (username) the unit gave the case to, or null. */
    assignedTo: { type: String, default: null },
    closedAt: { type: Date, default: null },
    closedBy: { type: String, default: null },
    closedOnTime: { type: Boolean, default: null },
    /** The common resolution chosen on closing (lib/case-resolutions.ts), or null for a free reason. */
    resolution: { type: String, default: null },
    /** The closing follow-up to the citizen is still to be sent (set on closing, cleared by the attempt: follow-up.ts). */
    followUpPending: { type: Boolean, default: false },
    /** When the closing follow-up was attempted (sent, or found impossible: the log says which). */
    followUpSentAt: { type: Date, default: null },
    log: { type: [logSchema], default: [] },
  },
  { timestamps: true },
);
caseSchema.index({ caseId: 1 }, { unique: true });
caseSchema.index({ unitCode: 1, day: 1 });
caseSchema.index({ status: 1, dueAt: 1 });
caseSchema.index({ dossierCode: 1 });
caseSchema.index({ followUpPending: 1 });

export type CaseDoc = InferSchemaType<typeof caseSchema>;
export const Case = model('Case', caseSchema);
