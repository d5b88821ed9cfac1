import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Ids, counts and flags: what an audit entry's details may hold (never personal data). */
export type AuditDetailValue = string | number | boolean | null | string[];
export type AuditDetails = Record<string, AuditDetailValue>;

/** The fields of an entry that its hash covers. */
export interface ChainedFields {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  unitCode?: string | null;
  reason?: string | null;
  ip?: string | null;
  details?: unknown;
  prevHash: string;
}

/**
 * SHA-256 (hex) of the entry's canonical JSON (RFC 8785, so key order and number formatting
 * cannot change it) including the previous entry's hash. Absent and null fields hash alike,
 * since MongoDB may drop either on the way back (and mongoose drops an empty details object).
 * `v` names this layout should it ever change.
 */
export function auditEntryHash(e: ChainedFields): string {
  const body = {
    v: 1,
    seq: e.seq,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    unitCode: e.unitCode ?? null,
    reason: e.reason ?? null,
    ip: e.ip ?? null,
    details: isEmpty(e.details) ? null : e.details,
    prevHash: e.prevHash,
  };
  const text = canonicalize(body);
  if (text === undefined) throw new Error('audit entry cannot be canonicalized');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function isEmpty(d: unknown): boolean {
  return (
    d === null ||
    d === undefined ||
    (typeof d === 'object' && !Array.isArray(d) && Object.keys(d).length === 0)
  );
}
