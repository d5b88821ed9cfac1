import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * Who did what to figures or cases, when and why: excluding a response from the indices,
 * closing or escalating a case. Append-only; `reason` is required for exclusions.
 */
const auditLogSchema = new Schema({
  at: { type: Date, required: true },
  actor: { type: String, required: true },
  action: { type: String, required: true },
  targetType: { type: String, required: true },
  targetId: { type: String, required: true },
  unitCode: { type: String, default: null },
  reason: { type: String, default: null },
});
auditLogSchema.index({ targetType: 1, targetId: 1, at: 1 });
auditLogSchema.index({ unitCode: 1, at: 1 });

export type AuditLogDoc = InferSchemaType<typeof auditLogSchema>;
export const AuditLog = model('AuditLog', auditLogSchema);
