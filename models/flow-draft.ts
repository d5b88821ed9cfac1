import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * A flow being written: any definition, valid or not (it is checked when validated and when
 * published). It belongs to a unit (the subtree of the official who may edit it; null: an
 * admin's, for every unit) and stops existing once published as the next immutable version of
 * its key. `rev` guards an edit against a concurrent one (bot/flow/drafts.ts).
 */
const flowDraftSchema = new Schema(
  {
    key: { type: String, required: true },
    unitCode: { type: String, default: null },
    definition: { type: Schema.Types.Mixed, required: true },
    /** The published version it was copied from, if any (what the console diffs against). */
    baseVersion: { type: Number, default: null },
    rev: { type: Number, default: 0 },
    createdBy: { type: String, required: true },
    updatedBy: { type: String, required: true },
  },
  { timestamps: true, minimize: false },
);
flowDraftSchema.index({ unitCode: 1, updatedAt: -1 });

export type FlowDraftDoc = InferSchemaType<typeof flowDraftSchema>;
export const FlowDraft = model('FlowDraft', flowDraftSchema);
