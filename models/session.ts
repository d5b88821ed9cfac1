import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A conversation in progress (or finished) on one channel. `state` is the pure engine's state;
 * `rev` is an optimistic-concurrency counter so that two processes never both apply a turn.
 */
const sessionSchema = new Schema(
  {
    contactId: { type: Schema.Types.ObjectId, required: true },
    channel: { type: String, enum: ['telegram', 'zalo', 'web'], required: true },
    dossierCode: { type: String, default: null },
    responseId: { type: String, required: true },
    flowKey: { type: String, required: true },
    flowVersion: { type: Number, required: true },
    status: { type: String, enum: ['active', 'completed', 'declined', 'stopped', 'expired'], required: true },
    state: { type: Schema.Types.Mixed, required: true },
    /** What the ingest jobs need about the response (no identity); null once declined. */
    meta: { type: Schema.Types.Mixed, default: null },
    rev: { type: Number, default: 0 },
    /** Highest platform update id applied to this session (Telegram update_id, Zalo timestamp). */
    lastUpdateId: { type: Number, default: 0 },
    startedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    expiresAt: { type: Date, default: null },
  },
  { timestamps: true, minimize: false },
);
sessionSchema.index({ contactId: 1, status: 1 });
sessionSchema.index({ responseId: 1 }, { unique: true });
sessionSchema.index({ dossierCode: 1 });

export type SessionDoc = InferSchemaType<typeof sessionSchema>;
export const Session = model('Session', sessionSchema);
