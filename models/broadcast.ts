import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * An awareness message (tuyên truyền) staff send to subscribers. The content is fixed once the
 * broadcast is created; targeting is resolved at fan-out into one BroadcastDelivery per contact.
 *
 * Status: pending_approval → scheduled → fanning_out → sending → completed, with paused
 * (by staff, or held over quiet hours) and cancelled on the side.
 */
export const BROADCAST_STATUSES = [
  'pending_approval',
  'scheduled',
  'fanning_out',
  'sending',
  'paused',
  'completed',
  'cancelled',
] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];
export const BROADCAST_CHANNELS = ['telegram', 'zalo'] as const;
export type BroadcastChannel = (typeof BROADCAST_CHANNELS)[number];

const buttonSchema = new Schema(
  {
    text: { type: String, required: true },
    textEn: { type: String, default: null },
    url: { type: String, required: true },
  },
  { _id: false },
);

const broadcastSchema = new Schema(
  {
    /** Vietnamese text (every contact); `textEn` goes to contacts whose lang is 'en' when set. */
    text: { type: String, required: true },
    textEn: { type: String, default: null },
    /** 'text': escaped entirely; 'html': a checked subset of Telegram HTML (b, i, u, s, code, a). */
    format: { type: String, enum: ['text', 'html'], default: 'text' },
    imageUrl: { type: String, default: null },
    buttons: { type: [buttonSchema], default: [] },
    target: {
      unitCode: { type: String, default: null },
      channels: { type: [String], enum: BROADCAST_CHANNELS, default: ['telegram', 'zalo'] },
      lang: { type: String, enum: ['vi', 'en'], default: null },
      tags: { type: [String], default: [] },
    },
    status: { type: String, enum: BROADCAST_STATUSES, required: true },
    createdBy: { type: String, required: true },
    approvalRequired: { type: Boolean, default: false },
    approvedBy: { type: String, default: null },
    approvedAt: { type: Date, default: null },
    /** When it should start (Asia/Ho_Chi_Minh given by staff, stored as an instant). */
    sendAt: { type: Date, default: null },
    ignoreQuietHours: { type: Boolean, default: false },
    /** Set while held over quiet hours: when sending resumes by itself. */
    heldUntil: { type: Date, default: null },
    /** Recipients counted when it was created (the fan-out count is `fannedOut`). */
    recipientCount: { type: Number, default: 0 },
    fannedOut: { type: Number, default: 0 },
    /** Last contact _id fanned out: a restarted fan-out continues after it. */
    fanoutCursor: { type: Schema.Types.ObjectId, default: null },
    fanoutDone: { type: Boolean, default: false },
    /**
     * The final report, copied from the delivery counts when it finishes: sent, failed, blocked,
     * skipped (unsubscribed meanwhile), cancelled, inFlightAtCrash (deliveries found mid-send
     * after a worker died: each may have gone out twice) and the reasons.
     */
    report: { type: Schema.Types.Mixed, default: null },
    startedAt: { type: Date, default: null },
    pausedAt: { type: Date, default: null },
    cancelledAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  // A report's reason maps are empty when nothing failed: minimizing would drop them.
  { timestamps: true, minimize: false },
);
broadcastSchema.index({ status: 1 });

export type BroadcastDoc = InferSchemaType<typeof broadcastSchema>;
export const Broadcast = model('Broadcast', broadcastSchema);
