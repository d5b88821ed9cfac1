import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * One recipient of one broadcast. The unique (broadcastId, contactId) pair and the state machine
 * are what make a restart safe: a delivery is claimed (queued → sending) before the platform call
 * and settled after it, so only a crash between the two can send twice (inFlightAtCrash).
 *
 *   queued → sending → sent | failed | blocked | skipped
 *   queued → cancelled (broadcast cancelled)
 */
export const DELIVERY_STATES = ['queued', 'sending', 'sent', 'failed', 'blocked', 'skipped', 'cancelled'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

const deliverySchema = new Schema(
  {
    broadcastId: { type: Schema.Types.ObjectId, required: true },
    contactId: { type: Schema.Types.ObjectId, required: true },
    channel: { type: String, enum: ['telegram', 'zalo'], required: true },
    /** Copied at fan-out so the send path reads one document. */
    channelUserId: { type: String, required: true },
    lang: { type: String, enum: ['vi', 'en'], default: 'vi' },
    state: { type: String, enum: DELIVERY_STATES, default: 'queued' },
    /** Why it failed, was blocked or skipped (an error class, never message text). */
    reason: { type: String, default: null },
    attempts: { type: Number, default: 0 },
    inFlightAtCrash: { type: Boolean, default: false },
    sentAt: { type: Date, default: null },
    settledAt: { type: Date, default: null },
  },
  { timestamps: false },
);
deliverySchema.index({ broadcastId: 1, contactId: 1 }, { unique: true });
deliverySchema.index({ broadcastId: 1, state: 1 });
deliverySchema.index({ broadcastId: 1, settledAt: 1 });

export type BroadcastDeliveryDoc = InferSchemaType<typeof deliverySchema>;
export const BroadcastDelivery = model('BroadcastDelivery', deliverySchema);
