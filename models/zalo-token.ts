import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * The Zalo OA token pair of one app, encrypted (lib/secret-box.ts). A refresh
 * token works once, so a new pair replaces the old with a compare-and-set on `version` before
 * anyone uses it: a process that lost the race reads the winner's pair instead of overwriting it.
 */
const zaloTokenSchema = new Schema(
  {
    appId: { type: String, required: true },
    oaId: { type: String, default: null },
    accessTokenEnc: { type: String, required: true },
    refreshTokenEnc: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    version: { type: Number, required: true },
    refreshedAt: { type: Date, default: null },
    /** Set when a refresh failed: the channel is unhealthy until an operator reconnects it. */
    failedAt: { type: Date, default: null },
    failure: { type: String, default: null },
  },
  { timestamps: true },
);
zaloTokenSchema.index({ appId: 1 }, { unique: true });

export type ZaloTokenDoc = InferSchemaType<typeof zaloTokenSchema>;
export const ZaloToken = model('ZaloToken', zaloTokenSchema);
