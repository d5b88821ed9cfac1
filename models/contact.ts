import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A citizen reachable on one channel. Identity lives here and only here; answers reference a
 * response id, never a contact (Law 91/2025/QH15: answers stored apart from identity).
 */
const contactSchema = new Schema(
  {
    channel: { type: String, enum: ['telegram', 'zalo', 'web'], required: true },
    /** Chat id (Telegram), user id (Zalo) or a random id (web). */
    channelUserId: { type: String, required: true },
    lang: { type: String, enum: ['vi', 'en'], default: 'vi' },
    consentAt: { type: Date, default: null },
    consentTextVersion: { type: String, default: null },
    unsubscribedAt: { type: Date, default: null },
    blockedAt: { type: Date, default: null },
    phoneHash: { type: String, default: null },
    /** lib/phone.ts phoneKeyId of the key that made `phoneHash` (absent: hashed before it was kept). */
    phoneHashKeyId: { type: String },
    unitCodes: { type: [String], default: [] },
    tags: { type: [String], default: [] },
    lastInteractionAt: { type: Date, default: null },
    lastInvitedAt: { type: Date, default: null },
  },
  { timestamps: true },
);
contactSchema.index({ channel: 1, channelUserId: 1 }, { unique: true });
contactSchema.index({ phoneHash: 1 });
contactSchema.index({ unsubscribedAt: 1, channel: 1 });

export type ContactDoc = InferSchemaType<typeof contactSchema>;
export const Contact = model('Contact', contactSchema);
