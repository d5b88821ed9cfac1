import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * An integration's credential for the dossier API. The key itself is never stored: only its
 * SHA-256 (keys are 32 random bytes, so a fast hash is enough, unlike passwords). The optional
 * HMAC signing secret must be readable to verify signatures, so it is stored encrypted with
 * SECRETS_KEY. An empty `unitCodes` means every unit.
 */
const apiKeySchema = new Schema(
  {
    /** Public identifier, also the key's visible prefix ("hl_<keyId>_..."), and the HMAC key id. */
    keyId: { type: String, required: true },
    name: { type: String, required: true },
    keyHash: { type: String, required: true },
    unitCodes: { type: [String], default: [] },
    /** AES-256-GCM sealed signing secret (lib/secret-box.ts format), or null. */
    signingSecretEnc: { type: String, default: null },
    revokedAt: { type: Date, default: null },
    lastUsedAt: { type: Date, default: null },
    createdBy: { type: String, default: 'cli' },
  },
  { timestamps: true },
);
apiKeySchema.index({ keyId: 1 }, { unique: true });
apiKeySchema.index({ keyHash: 1 }, { unique: true });

export type ApiKeyDoc = InferSchemaType<typeof apiKeySchema>;
export const ApiKey = model('ApiKey', apiKeySchema);
