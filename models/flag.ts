import { Schema, model, type InferSchemaType } from 'mongoose';

export const FLAG_REASONS = ['identical_burst', 'shared_contact', 'counter_network'] as const;
export type FlagReason = (typeof FLAG_REASONS)[number];
/**
 * The counts behind a flag, by name, which the console words in the reader's language:
 * identical_burst { count, windowMin }; shared_contact { applicants, windowHours }; counter_network {}.
 */
export type FlagParams = Record<string, number>;

/**
 * A response that looks manufactured, with the reason. Flags do not change any figure: an admin
 * decides, and an exclusion (Response.excluded, with a written reason) is kept in the audit log.
 */
const flagSchema = new Schema({
  responseId: { type: String, required: true },
  unitCode: { type: String, required: true },
  day: { type: String, required: true },
  /**
   * identical_burst: identical answer sets in a burst (a staff member filling forms);
   * shared_contact: one chat / Zalo user / web device answering for many different applicants;
   * counter_network: a web-chat answer sent from the one-stop shop's own network.
   */
  reason: { type: String, enum: FLAG_REASONS, required: true },
  /** The reason's counts (FlagParams): numbers only, never personal data. */
  params: { type: Schema.Types.Mixed, default: null },
  /** Flags stored before `params`: the counts as an English sentence, shown as stored. */
  detail: { type: String, default: null },
  createdAt: { type: Date, required: true },
});
flagSchema.index({ responseId: 1, reason: 1 }, { unique: true });
flagSchema.index({ unitCode: 1, day: 1 });

export type FlagDoc = InferSchemaType<typeof flagSchema>;
export const Flag = model('Flag', flagSchema);
