import { Schema, model, type InferSchemaType } from 'mongoose';

/** An administrative unit (district, commune, ward). Merged units keep their history via validTo/successorCode. */
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
    /**
     * Telegram chat (group) of the unit's responsible people, for alerts, digests and handling
     * cases. Set by a one-time code posted in the group (`hailong unit connect-telegram`).
     */
    alertTelegramChatId: { type: String, default: null },
    alertTelegramConnectedAt: { type: Date, default: null },
  },
  { timestamps: true },
);
unitSchema.index({ code: 1 }, { unique: true });
unitSchema.index({ parentCode: 1 });
unitSchema.index({ successorCode: 1 });
unitSchema.index({ alertTelegramChatId: 1 });

export type UnitDoc = InferSchemaType<typeof unitSchema>;
export const Unit = model('Unit', unitSchema);
