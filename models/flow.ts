import { Schema, model, type InferSchemaType } from 'mongoose';

/** A question flow version. Published versions are immutable: edits create a new draft version. */
const flowSchema = new Schema(
  {
    key: { type: String, required: true },
    version: { type: Number, required: true },
    status: { type: String, enum: ['draft', 'published', 'archived'], required: true },
    definition: { type: Schema.Types.Mixed, required: true },
    publishedAt: { type: Date, default: null },
    createdBy: { type: String, default: 'system' },
  },
  { timestamps: true, minimize: false },
);
flowSchema.index({ key: 1, version: 1 }, { unique: true });
flowSchema.index({ key: 1, status: 1, version: -1 });

export type FlowDoc = InferSchemaType<typeof flowSchema>;
export const Flow = model('Flow', flowSchema);
