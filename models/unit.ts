import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * An administrative unit (district, commune, ward). A unit that ceased to exist keeps its record
 * and its history: `validTo` is its last moment, and what took it over is
 *  - `successorCode` when it was merged into one unit: its history also counts in that unit's
 *    figures (indices/units.ts) and that unit's keys may post under its code;
 *  - `successorCodes` when it was split among several (e.g. a district abolished on 1/7/2025):
 *    its history stays its own, since no one successor owns it.
 * Read both through `successorsOf`.
 */
const unitSchema = new Schema(
  {
    code: { type: String, required: true },
    name: { type: String, required: true },
    level: {
      type: String,
      enum: ['province', 'district', 'commune', 'ward', 'town', 'agency'],
      required: true,
    },
    parentCode: { type: String, default: null },
    validFrom: { type: Date, default: null },
    validTo: { type: Date, default: null },
    successorCode: { type: String, default: null },
    successorCodes: { type: [String], default: [] },
    /**
     * Telegram chat (group) of the unit's responsible people, for alerts, digests and handling
     * cases. Set by a one-time code posted in the group (`hailong unit connect-telegram`).
     */
    alertTelegramChatId: { type: String, default: null },
    alertTelegramConnectedAt: { type: Date, default: null },
    /**
     * The unit chose to publish its officers' indices on its public results page (those with at
     * least PUBLIC_MIN_N responses in the period); off by default (docs/public-results.md).
     */
    publishOfficerIndices: { type: Boolean, default: false },
  },
  { timestamps: true },
);
unitSchema.index({ code: 1 }, { unique: true });
unitSchema.index({ parentCode: 1 });
unitSchema.index({ successorCode: 1 });
unitSchema.index({ alertTelegramChatId: 1 });

export type UnitDoc = InferSchemaType<typeof unitSchema>;
export const Unit = model('Unit', unitSchema);

/** The units that took `u` over: one for a merger, several for a split, none while it exists. */
export function successorsOf(u: {
  successorCode?: string | null;
  successorCodes?: readonly string[] | null;
}): string[] {
  if (u.successorCodes && u.successorCodes.length > 0) return [...u.successorCodes];
  return u.successorCode ? [u.successorCode] : [];
}
