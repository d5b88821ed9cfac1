import { Schema, model, type InferSchemaType } from 'mongoose';

export const USER_ROLES = ['admin', 'district', 'unit', 'broadcaster', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Lower-case letters, digits and . _ - ; 3 to 64 characters (e.g. "canbo.nguyen"). */
export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{2,63}$/;

/**
 * An official's local account for the console and the API. Only an argon2id hash of the
 * password is stored. `unitCodes` are the units the account answers for (what it sees is those
 * and everything below or merged into them, lib/auth/scope.ts); empty only for admins, who see
 * every unit. A disabled account is kept (the audit log names it) but can no longer sign in,
 * and its sessions end at once (lib/auth/sessions.ts).
 */
const userSchema = new Schema(
  {
    username: { type: String, required: true, match: USERNAME_RE },
    passwordHash: { type: String, required: true },
    role: { type: String, enum: USER_ROLES, required: true },
    unitCodes: { type: [String], default: [] },
    disabledAt: { type: Date, default: null },
    passwordChangedAt: { type: Date, required: true },
    lastLoginAt: { type: Date, default: null },
    /** The official's own Telegram or Zalo chat, for test sends of broadcasts; null until linked. */
    linkedChat: {
      type: new Schema(
        {
          channel: { type: String, enum: ['telegram', 'zalo'], required: true },
          userId: { type: String, required: true },
        },
        { _id: false },
      ),
      default: null,
    },
    /** Who created the account: a username, or "cli". */
    createdBy: { type: String, required: true },
  },
  { timestamps: true },
);
userSchema.index({ username: 1 }, { unique: true });
userSchema.index({ unitCodes: 1 });

export type UserDoc = InferSchemaType<typeof userSchema>;
export const User = model('User', userSchema);
