import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A response that looks manufactured, with the reason. Flags do not change any figure: an admin
 * decides, and an exclusion (Response.excluded, with a written reason) is kept in the audit log.
 */
const flagSchema = new Schema({
  responseId: { type: String, required: true },
  unitCode: { type: String, required: true },
  day: { type: String, required: true },
  reason: { type: String, enum: ['identical_burst', 'shared_contact', 'counter_device'], required: true },
  /** Ids and counts only (e.g. the burst's size), never personal data. */
  detail: { type: String, default: null },
  createdAt: { type: Date, required: true },
});
flagSchema.index({ responseId: 1, reason: 1 }, { unique: true });
flagSchema.index({ unitCode: 1, day: 1 });

export type FlagDoc = InferSchemaType<typeof flagSchema>;
export const Flag = model('Flag', flagSchema);
