import { stringify } from 'csv-stringify/sync';
import type { AuditLogDoc } from '../../models/audit-log';

const COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'targetType',
  'targetId',
  'unitCode',
  'reason',
  'ip',
  'details',
  'prevHash',
  'hash',
] as const;

/**
 * Audit entries as CSV (UTF-8 with BOM for Excel, CRLF), one row per entry with its hashes, so
 * an exported copy can be checked against the chain later. A cell starting with = + - @ is
 * escaped so a spreadsheet does not run it as a formula.
 */
export function auditCsv(entries: readonly AuditLogDoc[]): string {
  const rows = entries.map((e) => ({
    seq: e.seq,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    unitCode: e.unitCode ?? '',
    reason: e.reason ?? '',
    ip: e.ip ?? '',
    details: e.details ? JSON.stringify(e.details) : '',
    prevHash: e.prevHash,
    hash: e.hash,
  }));
  return (
    '\ufeff' +
    stringify(rows, { header: true, columns: [...COLUMNS], escape_formulas: true, record_delimiter: '\r\n' })
  );
}
