import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A dossier (hồ sơ) as the one-stop system reports it. The phone is kept as its keyed hash; the
 * plain number only while a Zalo ZNS invitation needs it, encrypted (bot/survey/zns-phone.ts).
 */
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
    /**
     * Asia/Ho_Chi_Minh day of `finishedAt`, YYYY-MM-DD (lib/time.ts hcmDay), set with it: the
     * dossier counts of a unit-day (models/dossier-day.ts) read its dossiers by equality. Absent on
     * dossiers written before it existed, until `hailong rollups rebuild`.
     */
    finishedDay: { type: String, default: null },
    returnedAt: { type: Date, default: null },
    status: {
      type: String,
      enum: ['received', 'processing', 'finished', 'returned', 'cancelled'],
      required: true,
    },
    officerId: { type: String, default: null },
    applicantPhoneHash: { type: String, default: null },
    /** lib/phone.ts phoneKeyId of the key that made `applicantPhoneHash`. */
    applicantPhoneKeyId: { type: String },
    /** Contacts already linked to this dossier's applicant (ids of Contact), for proactive invitations. */
    contactIds: { type: [Schema.Types.ObjectId], default: [] },
    survey: {
      token: { type: String, default: null },
      issuedAt: { type: Date, default: null },
      expiresAt: { type: Date, default: null },
      responseId: { type: String, default: null },
    },
    source: { type: String, default: 'api' },
    /** When each funnel stage was first reached (counts in models/invitation.ts are $inc'd once per stage). */
    funnel: {
      invitedAt: { type: Date, default: null },
      openedAt: { type: Date, default: null },
      startedAt: { type: Date, default: null },
      completedAt: { type: Date, default: null },
    },
    /** The proactive invitation: which contact/channel it went to, or why it was not sent. */
    invitation: {
      contactId: { type: Schema.Types.ObjectId, default: null },
      channel: { type: String, default: null },
      sentAt: { type: Date, default: null },
      skipped: { type: String, default: null },
      remindersSent: { type: Number, default: 0 },
      /**
       * The normalised phone sealed with SECRETS_KEY, only when ZNS is configured and only until
       * the invitation is decided, the survey ends or expires (no default: absent otherwise).
       */
      phoneSealed: { type: String },
    },
  },
  { timestamps: true },
);
dossierSchema.index({ code: 1 }, { unique: true });
// Not unique: FerretDB 1.24 has no partial indexes, and most dossiers have no token (null).
// Tokens are 192 random bits and set once per dossier by a conditional update (bot/survey/token.ts).
dossierSchema.index({ 'survey.token': 1 });
dossierSchema.index({ unitCode: 1, finishedAt: 1 });
dossierSchema.index({ unitCode: 1, finishedDay: 1 });

export type DossierDoc = InferSchemaType<typeof dossierSchema>;
export const Dossier = model('Dossier', dossierSchema);
