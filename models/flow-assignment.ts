import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * Which published flow version new surveys get for a unit and a procedure. The most specific
 * assignment wins, walking up the unit tree (bot/flow/live-assignments.ts). `unitCode` null is
 * every unit; `procedureCode` null every procedure of the unit. Stored as '' rather than null:
 * the unique index then treats "every" as one value on every MongoDB-compatible server.
 */
const flowAssignmentSchema = new Schema(
  {
    unitCode: { type: String, default: '' },
    procedureCode: { type: String, default: '' },
    flowKey: { type: String, required: true },
    version: { type: Number, required: true },
    assignedBy: { type: String, required: true },
  },
  { timestamps: true },
);
flowAssignmentSchema.index({ unitCode: 1, procedureCode: 1 }, { unique: true });

export type FlowAssignmentDoc = InferSchemaType<typeof flowAssignmentSchema>;
export const FlowAssignment = model('FlowAssignment', flowAssignmentSchema);
