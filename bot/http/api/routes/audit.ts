import { z } from 'zod';
import { auditCsv } from '../../../../lib/audit/csv';
import { verifyAuditChain } from '../../../../lib/audit/verify';
import type { Scope } from '../../../../lib/auth/scope';
import { parsePeriod } from '../../../../lib/time';
import { AuditLog, type AuditLogDoc } from '../../../../models/audit-log';
import { defineRoute } from '../route';
import { day, isoDate, limit, unitCode } from '../schemas';

const entryBody = z
  .object({
    seq: z.number().int(),
    at: isoDate,
    actor: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    unitCode: z.string().nullable(),
    reason: z.string().nullable(),
    ip: z.string().nullable(),
    details: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]))
      .nullable(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditEntry' });

const entryOut = (e: AuditLogDoc): z.output<typeof entryBody> => ({
  seq: e.seq,
  at: e.at.toISOString(),
  actor: e.actor,
  action: e.action,
  targetType: e.targetType,
  targetId: e.targetId,
  unitCode: e.unitCode ?? null,
  reason: e.reason ?? null,
  ip: e.ip ?? null,
  details: (e.details as z.output<typeof entryBody>['details'] | undefined) ?? null,
  prevHash: e.prevHash,
  hash: e.hash,
});

const filterShape = {
  actor: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  targetType: z.string().max(100).optional(),
  targetId: z.string().max(200).optional(),
  unit: unitCode.optional(),
  from: day.optional(),
  to: day.optional(),
};
const ordered = (q: { from?: string; to?: string }) => !q.from || !q.to || q.from <= q.to;
const notOrdered = { message: 'Ngày bắt đầu sau ngày kết thúc / from is after to', path: ['from'] };
const filters = z.object(filterShape).refine(ordered, notOrdered);
const listQuery = z
  .object({ ...filterShape, before: z.coerce.number().int().min(1).optional(), limit })
  .refine(ordered, notOrdered);
type Filters = z.output<typeof filters>;

function mongoFilter(q: Filters): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  for (const k of ['actor', 'action', 'targetType', 'targetId'] as const) if (q[k]) f[k] = q[k];
  if (q.unit) f.unitCode = q.unit;
  if (q.from || q.to)
    f.at = {
      ...(q.from ? { $gte: parsePeriod(q.from).start } : {}),
      ...(q.to ? { $lt: parsePeriod(q.to).end } : {}),
    };
  return f;
}

/** The filter limited to the caller's units; null when the unit asked for is outside them. */
async function scopedFilter(q: Filters, scope: Scope): Promise<Record<string, unknown> | null> {
  const f = mongoFilter(q);
  if (q.unit) return (await scope.allows(q.unit)) ? f : null;
  return { ...f, ...(await scope.filter('unitCode')) };
}

const ADMIN = { auth: 'user', permission: 'audit:read', tag: 'audit' } as const;
const EXPORT_MAX = 100_000;

export const auditRoutes = [
  defineRoute({
    ...ADMIN,
    id: 'audit.list',
    method: 'GET',
    path: '/audit',
    summary: 'Nhật ký kiểm toán / the audit log, newest first',
    description: 'Filters combine; `before` is the `nextCursor` of the previous page (a seq).',
    scope: { kind: 'list' },
    query: listQuery,
    response: z.object({ entries: z.array(entryBody), nextCursor: z.number().int().nullable() }),
    handler: async ({ query, scope }) => {
      const f = await scopedFilter(query, scope);
      if (!f) return { entries: [], nextCursor: null };
      if (query.before) f.seq = { $lt: query.before };
      const docs = await AuditLog.find(f).sort({ seq: -1 }).limit(query.limit).lean();
      const last = docs[docs.length - 1];
      return {
        entries: docs.map(entryOut),
        nextCursor: docs.length === query.limit && last ? last.seq : null,
      };
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'audit.export',
    method: 'GET',
    path: '/audit/export',
    summary: 'Xuất nhật ký (CSV) / the audit log as CSV, oldest first',
    scope: { kind: 'list' },
    query: filters,
    response: z.string().describe('CSV, UTF-8 with BOM'),
    produces: 'text/csv',
    handler: async ({ query, scope, reply, audit }) => {
      const f = await scopedFilter(query, scope);
      const docs = f ? await AuditLog.find(f).sort({ seq: 1 }).limit(EXPORT_MAX).lean() : [];
      await audit({
        action: 'audit.exported',
        targetType: 'audit',
        targetId: '-',
        details: { rows: docs.length },
      });
      void reply.header('content-disposition', 'attachment; filename="audit-log.csv"');
      return auditCsv(docs);
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'audit.verify',
    method: 'GET',
    path: '/audit/verify',
    summary: 'Kiểm tra chuỗi băm / check the hash chain and name the first entry that does not match',
    scope: { kind: 'global', why: 'one chain covers every entry; its check tells counts and hashes only' },
    response: z.object({
      ok: z.boolean(),
      checked: z.number().int(),
      head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
      firstBreak: z
        .object({
          problem: z.enum(['unchained', 'gap', 'broken_link', 'hash_mismatch']),
          seq: z.number().int().nullable(),
          id: z.string(),
          expectedSeq: z.number().int(),
        })
        .nullable(),
    }),
    handler: async () => verifyAuditChain(),
  }),
];
