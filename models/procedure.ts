import { Schema, model, type InferSchemaType } from 'mongoose';

/** An administrative procedure (thủ tục hành chính) of the national procedure database. */
const procedureSchema = new Schema(
  {
    code: { type: String, required: true },
    name: { type: String, required: true },
    field: { type: String, default: null },
  },
  { timestamps: true },
);
procedureSchema.index({ code: 1 }, { unique: true });

export type ProcedureDoc = InferSchemaType<typeof procedureSchema>;
export const Procedure = model('Procedure', procedureSchema);
