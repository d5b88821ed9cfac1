import { Schema, model, type InferSchemaType } from 'mongoose';
import { GENESIS_HASH, auditEntryHash } from '../lib/audit/chain';

/**
 * Who did what, when, from which address: sign-ins, user and key changes, exclusions, case
 * actions, and (as the console grows) flow edits, broadcasts, exports and free-text reads.
 * Ids only, never personal data: `details` holds ids and counts, `reason` an official's written
 * reason.
 *
 * Append-only and tamper-evident: entry `seq` carries `prevHash`, the hash of entry seq-1, and
 * its own `hash` over a canonical JSON of its fields and prevHash (lib/audit/chain.ts), so an
 * edited, removed or inserted entry breaks the chain (`hailong audit verify`). Several processes
 * append without transactions: each new entry takes the next seq after the newest one, and the
 * unique index on seq refuses the loser of a race, which tries again (lib/audit/writer.ts).
 */
const auditLogSchema = new Schema({
  seq: { type: Number, required: true },
  at: { type: Date, required: true },
  actor: { type: String, required: true },
  action: { type: String, required: true },
  targetType: { type: String, required: true },
  targetId: { type: String, required: true },
  unitCode: { type: String, default: null },
  reason: { type: String, default: null },
  /** The client address of a request (null for the CLI and for workers). */
  ip: { type: String, default: null },
  /** Ids and counts only. */
  details: { type: Schema.Types.Mixed, default: null },
  prevHash: { type: String, required: true },
  hash: { type: String, required: true },
});
auditLogSchema.index({ seq: 1 }, { unique: true });
auditLogSchema.index({ targetType: 1, targetId: 1, at: 1 });
auditLogSchema.index({ unitCode: 1, at: 1 });
auditLogSchema.index({ actor: 1, at: 1 });
auditLogSchema.index({ action: 1, at: 1 });

/**
 * Every new entry is chained here, however it is created (appendAudit, or a plain
 * `AuditLog.create` of code written before the chain), so there is one way to compute a link.
 * Only appendAudit retries the race for a seq.
 */
auditLogSchema.pre('validate', async function chain() {
  if (!this.isNew) throw new Error('the audit log is append-only');
  const last = await AuditLog.findOne({}, { seq: 1, hash: 1 }).sort({ seq: -1 }).lean();
  this.seq = (last?.seq ?? 0) + 1;
  this.prevHash = last?.hash ?? GENESIS_HASH;
  this.hash = auditEntryHash(this);
});

/** Refused through the model; direct edits of the collection are what `audit verify` finds. */
const CHANGES = [
  'updateOne',
  'updateMany',
  'replaceOne',
  'findOneAndUpdate',
  'findOneAndReplace',
  'findOneAndDelete',
  'deleteOne',
  'deleteMany',
] as const;
for (const op of CHANGES)
  auditLogSchema.pre(op, function appendOnly() {
    throw new Error('the audit log is append-only');
  });
auditLogSchema.pre('insertMany', function oneByOne() {
  throw new Error('audit entries are appended one by one (lib/audit/writer.ts)');
});

export type AuditLogDoc = InferSchemaType<typeof auditLogSchema>;
export const AuditLog = model('AuditLog', auditLogSchema);
