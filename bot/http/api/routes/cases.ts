import { z } from 'zod';
import { can } from '../../../../lib/auth/roles';
import { Scope } from '../../../../lib/auth/scope';
import { Case, type CaseDoc } from '../../../../models/case';
import { User } from '../../../../models/user';
import { followUpJobId, followUpMessageJobId } from '../../../../workers/aggregation/cases/group-actions';
import {
  addCaseNote,
  assignCase,
  CaseInputError,
  checkedNote,
  closeCase,
  MAX_NOTE_CHARS,
} from '../../../../workers/aggregation/cases/handling';
import { resolutionOf, RESOLUTIONS } from '../../../../lib/case-resolutions';
import { ApiError, invalid, notFound } from '../errors';
import { producersOf, scheduleDeps } from '../producers';
import { defineRoute, type HandlerContext } from '../route';
import { iso, isoDate, limit, unitCode } from '../schemas';

const STATUSES = ['open', 'in_progress', 'closed'] as const;

const caseBody = z
  .object({
    caseId: z.string(),
    responseId: z.string(),
    dossierCode: z.string().nullable(),
    unitCode: z.string(),
    procedureCode: z.string().nullable(),
    status: z.enum(STATUSES),
    items: z.array(
      z.object({
        element: z.string(),
        questionId: z.string(),
        value: z.number(),
        reasons: z.array(z.string()),
      }),
    ),
    openedAt: isoDate,
    dueAt: isoDate,
    overdue: z.boolean(),
    assignedTo: z.string().nullable(),
    escalatedTo: z.string().nullable(),
    closedAt: isoDate.nullable(),
    closedOnTime: z.boolean().nullable(),
    resolution: z.string().nullable(),
    followUpPending: z.boolean(),
  })
  .meta({ id: 'Case' });

const caseDetail = caseBody
  .extend({
    log: z.array(
      z.object({
        at: isoDate,
        by: z.string(),
        action: z.string(),
        note: z
          .string()
          .nullable()
          .describe('an official’s note or the text sent to the citizen: for the unit only'),
        detail: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'CaseDetail' });

type CaseLean = Omit<CaseDoc, 'log'> & Partial<Pick<CaseDoc, 'log'>>;

function caseOut(c: CaseLean, now: Date): z.output<typeof caseBody> {
  return {
    caseId: c.caseId,
    responseId: c.responseId,
    dossierCode: c.dossierCode ?? null,
    unitCode: c.unitCode,
    procedureCode: c.procedureCode ?? null,
    status: c.status,
    items: c.items.map((i) => ({
      element: i.element,
      questionId: i.questionId,
      value: i.value,
      reasons: [...i.reasons],
    })),
    openedAt: c.openedAt.toISOString(),
    dueAt: c.dueAt.toISOString(),
    overdue: c.status !== 'closed' && c.dueAt < now,
    assignedTo: c.assignedTo ?? null,
    escalatedTo: c.escalatedTo ?? null,
    closedAt: iso(c.closedAt),
    closedOnTime: c.closedOnTime ?? null,
    resolution: c.resolution ?? null,
    followUpPending: c.followUpPending === true,
  };
}

function detailOut(c: CaseDoc, now: Date): z.output<typeof caseDetail> {
  return {
    ...caseOut(c, now),
    log: c.log.map((l) => ({
      at: l.at.toISOString(),
      by: l.by,
      action: l.action,
      note: l.note ?? null,
      detail: l.detail ?? null,
    })),
  };
}

/** The case of the path, or 404 when there is none or it lies outside the caller's units. */
async function scopedCase(caseId: string, scope: Scope): Promise<CaseDoc> {
  const c = await Case.findOne({ caseId }).lean();
  await scope.require(c?.unitCode ?? null);
  if (!c) throw notFound();
  return c;
}

/** Bad input from the handling module (an empty note, an unknown resolution) as a 422 on `field`. */
async function asInput<T>(field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CaseInputError)
      throw invalid([{ path: field, in: 'body', message: err.message }], err.message);
    throw err;
  }
}

function decodeCursor(cursor: string): { due: Date; id: string } {
  const [ms, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('_');
  const due = new Date(Number(ms));
  const id = rest.join('_');
  if (!ms || Number.isNaN(due.getTime()) || !id)
    throw invalid([{ path: 'cursor', in: 'query', message: 'not a cursor of this list' }]);
  return { due, id };
}

const caseParams = z.object({ caseId: z.string().min(1).max(100) });
const text = z.string().trim().min(1).max(MAX_NOTE_CHARS);
const CASE = { tag: 'cases', auth: 'user', scope: { kind: 'object' }, params: caseParams } as const;
const queued = z.object({ queued: z.boolean(), jobId: z.string().nullable() });

async function queueFollowUp(
  c: HandlerContext<unknown, unknown, unknown, 'user'>,
  unit: string,
  payload: { caseId: string } & ({ kind: 'close' } | { kind: 'message'; text: string }),
  jobId: string,
): Promise<string> {
  const id = await producersOf(c.deps.ctx).jobs.add(
    'case.follow_up',
    { ...payload, by: c.caller.actor },
    { jobId },
  );
  await c.audit({
    action: 'case.follow_up_requested',
    targetType: 'case',
    targetId: payload.caseId,
    unitCode: unit,
    details: { kind: payload.kind, jobId: id },
  });
  return id;
}

export const caseRoutes = [
  defineRoute({
    id: 'cases.list',
    method: 'GET',
    path: '/cases',
    tag: 'cases',
    summary: 'Phiếu phản ánh / dissatisfaction cases by due time, the most urgent first',
    description:
      'Decision 766 cases of the caller’s units (or one unit’s subtree). Without `status`: those not yet closed. ' +
      '`nextCursor` gives the next page.',
    auth: 'any',
    permission: 'cases:read',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({
      unit: unitCode.optional(),
      status: z.enum(STATUSES).optional(),
      overdue: z.enum(['true', 'false']).optional().describe('true: only those past their due time'),
      assignedTo: z.string().max(64).optional(),
      cursor: z.string().max(200).optional(),
      limit,
    }),
    response: z.object({ cases: z.array(caseBody), nextCursor: z.string().nullable() }),
    handler: async ({ query: q, scope }) => {
      const now = new Date();
      const codes = q.unit ? await scope.within(q.unit) : await scope.list();
      const f: Record<string, unknown> = { status: q.status ?? { $ne: 'closed' } };
      if (codes) f.unitCode = { $in: codes };
      if (q.assignedTo) f.assignedTo = q.assignedTo;
      if (q.overdue === 'true') f.dueAt = { $lt: now };
      if (q.overdue === 'false') f.dueAt = { $gte: now };
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        const after = [{ dueAt: { $gt: c.due } }, { dueAt: c.due, caseId: { $gt: c.id } }];
        if (f.dueAt) {
          f.$and = [{ dueAt: f.dueAt }, { $or: after }];
          delete f.dueAt;
        } else f.$or = after;
      }
      const docs = await Case.find(f, { log: 0 }).sort({ dueAt: 1, caseId: 1 }).limit(q.limit).lean();
      const last = docs[docs.length - 1];
      return {
        cases: docs.map((c) => caseOut(c, now)),
        nextCursor:
          docs.length === q.limit && last
            ? Buffer.from(`${last.dueAt.getTime()}_${last.caseId}`, 'utf8').toString('base64url')
            : null,
      };
    },
  }),

  defineRoute({
    ...CASE,
    auth: 'any',
    id: 'cases.get',
    method: 'GET',
    path: '/cases/:caseId',
    summary: 'Một phiếu / one case with its handling log',
    permission: 'cases:read',
    response: caseDetail,
    handler: async ({ params, scope }) => detailOut(await scopedCase(params.caseId, scope), new Date()),
  }),

  defineRoute({
    ...CASE,
    id: 'cases.assign',
    method: 'POST',
    path: '/cases/:caseId/assign',
    summary: 'Giao phiếu / give the case to an official of its unit',
    description: 'The assignee is an active account that may handle cases of the case’s unit.',
    permission: 'cases:write',
    body: z.object({ username: z.string().min(1).max(64) }),
    response: caseDetail,
    handler: async ({ params, body, scope, caller }) => {
      const c = await scopedCase(params.caseId, scope);
      const user = await User.findOne({ username: body.username.toLowerCase(), disabledAt: null }).lean();
      const theirs = user && new Scope(user.role === 'admin' ? null : user.unitCodes);
      if (!user || !theirs || !can(user.role, 'cases:write') || !(await theirs.allows(c.unitCode)))
        throw invalid(
          [{ path: 'username', in: 'body', message: 'no active official who handles cases of this unit' }],
          'Không có cán bộ xử lý phiếu của đơn vị này với tên đăng nhập đó. / No such official for this unit.',
        );
      await assignCase(c.caseId, caller.actor, user.username);
      return detailOut(await scopedCase(c.caseId, scope), new Date());
    },
  }),

  defineRoute({
    ...CASE,
    id: 'cases.note',
    method: 'POST',
    path: '/cases/:caseId/notes',
    summary: 'Ghi chú / add a note to the case (for the unit only)',
    permission: 'cases:write',
    status: 201,
    body: z.object({ text }),
    response: caseDetail,
    handler: async ({ params, body, scope, caller }) => {
      const c = await scopedCase(params.caseId, scope);
      await asInput('text', () => addCaseNote(c.caseId, caller.actor, body.text));
      return detailOut(await scopedCase(c.caseId, scope), new Date());
    },
  }),

  defineRoute({
    ...CASE,
    id: 'cases.close',
    method: 'POST',
    path: '/cases/:caseId/close',
    summary: 'Đóng phiếu / close the case with a resolution, and tell the citizen',
    description:
      `\`resolution\`: one of ${RESOLUTIONS.map((r) => r.code).join(', ')}; or \`reason\`, a free reason (never sent ` +
      'to the citizen: the closing message then says the feedback was handled). `followUp` (default true) ' +
      'queues the closing message to the citizen through their channel. Closing a closed case changes nothing (409).',
    permission: 'cases:write',
    errors: [409],
    body: z
      .object({
        resolution: z.string().max(64).optional(),
        reason: text.optional(),
        followUp: z.boolean().default(true),
      })
      .refine((b) => (b.resolution === undefined) !== (b.reason === undefined), {
        message: 'give a resolution or a reason, one of them',
        path: ['resolution'],
      }),
    response: caseDetail.extend({ followUp: queued }),
    handler: async (c) => {
      const { params, body, scope, caller } = c;
      const found = await scopedCase(params.caseId, scope);
      if (body.resolution !== undefined && !resolutionOf(body.resolution))
        throw invalid([
          {
            path: 'resolution',
            in: 'body',
            message: `expected ${RESOLUTIONS.map((r) => r.code).join(', ')}, or a free reason`,
          },
        ]);
      const reason = body.resolution !== undefined ? { resolution: body.resolution } : { note: body.reason! };
      const r = await asInput('reason', () =>
        closeCase(found.caseId, caller.actor, reason, {
          followUp: body.followUp,
          rollups: scheduleDeps(c.deps.ctx),
        }),
      );
      if (!r.closed)
        throw new ApiError(409, 'already_closed', 'Phiếu đã đóng trước đó. / The case is already closed.');
      const jobId = r.followUpPending
        ? await queueFollowUp(
            c,
            found.unitCode,
            { caseId: found.caseId, kind: 'close' },
            followUpJobId(found.caseId),
          )
        : null;
      return {
        ...detailOut(await scopedCase(found.caseId, scope), new Date()),
        followUp: { queued: jobId !== null, jobId },
      };
    },
  }),

  defineRoute({
    ...CASE,
    id: 'cases.followUp',
    method: 'POST',
    path: '/cases/:caseId/follow-up',
    summary: 'Nhắn công dân / send the citizen a message through the channel they answered on',
    description:
      'Queued; the outcome (sent, or why it could not be: web chat, unsubscribed, outside the Zalo window…) ' +
      'is written to the case log. Audited.',
    permission: 'cases:write',
    body: z.object({ text }),
    response: queued,
    handler: async (c) => {
      const found = await scopedCase(c.params.caseId, c.scope);
      const message = await asInput('text', async () => checkedNote(c.body.text));
      const jobId = await queueFollowUp(
        c,
        found.unitCode,
        { caseId: found.caseId, kind: 'message', text: message },
        followUpMessageJobId(found.caseId),
      );
      return { queued: true, jobId };
    },
  }),
];
