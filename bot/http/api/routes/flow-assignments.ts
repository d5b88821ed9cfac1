import { z } from 'zod';
import { assign, listAssignments, liveFor, unassign, type Assignment } from '../../../flow/assignments';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import { isoDate, noContent, unitCode } from '../schemas';
import { flowKey, mappingFlowErrors, procedureCode } from './flow-schemas';

const assignmentView = z
  .object({
    unitCode: unitCode.nullable().describe('null: every unit'),
    procedureCode: procedureCode.nullable().describe('null: every procedure of the unit'),
    flowKey,
    version: z.number().int(),
    assignedBy: z.string(),
    updatedAt: isoDate,
  })
  .meta({ id: 'FlowAssignment' });

const assignmentOut = (a: Assignment): z.output<typeof assignmentView> => ({
  ...a,
  updatedAt: a.updatedAt.toISOString(),
});

const targetId = (unit: string | null, procedure: string | null) => `${unit ?? '*'}/${procedure ?? '*'}`;
const ASSIGN = { auth: 'user', permission: 'flows:assign', tag: 'flows' } as const;

export const flowAssignmentRoutes = [
  defineRoute({
    auth: 'user',
    permission: 'flows:read',
    tag: 'flows',
    id: 'flows.live',
    method: 'GET',
    path: '/flows/live',
    summary: 'Phiên bản đang dùng / which version new surveys of a unit and procedure get',
    description:
      'The most specific assignment wins: walking up from the unit (a merged unit continues in its ' +
      'successor, then its old parent; any other in its parent), the unit and procedure, then the unit; then every unit ' +
      'for the procedure, then every unit; with no assignment at all, the latest published version of `default`.',
    scope: { kind: 'unit', in: 'query', field: 'unitCode' },
    query: z.object({ unitCode: unitCode.optional(), procedureCode: procedureCode.optional() }),
    response: z.object({
      flowKey,
      version: z.number().int(),
      assignment: assignmentView
        .nullable()
        .describe('the assignment that decides (null: none, the latest version)'),
    }),
    handler: async ({ query, unit, scope }) => {
      // Without a unit: what every unit inherits, which any caller of the permission may know.
      if (!unit) await scope.units();
      const live = await liveFor(unit, query.procedureCode ?? null);
      return { ...live, assignment: live.assignment ? assignmentOut(live.assignment) : null };
    },
  }),

  defineRoute({
    auth: 'user',
    permission: 'flows:read',
    tag: 'flows',
    id: 'flows.assignments',
    method: 'GET',
    path: '/flows/assignments',
    summary: 'Phân công phiên bản / the version assignments of the caller’s units',
    description: 'The assignment of every unit (`unitCode` null) is listed for admins only.',
    scope: { kind: 'list' },
    response: z.object({ assignments: z.array(assignmentView) }),
    handler: async ({ scope }) => ({
      assignments: (await listAssignments(await scope.filter('unitCode'))).map(assignmentOut),
    }),
  }),

  defineRoute({
    ...ASSIGN,
    id: 'flows.assign',
    method: 'PUT',
    path: '/flows/assignments',
    summary: 'Chọn phiên bản đang dùng / make a published version live for a unit (and procedure)',
    description:
      'New surveys of the unit and the units below it (unless they chose their own) start on it; ' +
      'a survey already started keeps its version. `unitCode` null (every unit) is for admins.',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    body: z.object({
      unitCode: unitCode.nullable(),
      procedureCode: procedureCode.nullable().default(null),
      flowKey,
      version: z.number().int().min(1),
    }),
    response: z.object({ assignment: assignmentView, previous: assignmentView.nullable() }),
    handler: async ({ body, unit, scope, caller, audit }) =>
      mappingFlowErrors(async () => {
        await scope.require(unit);
        const { assignment, previous } = await assign(
          { unitCode: unit, procedureCode: body.procedureCode, flowKey: body.flowKey, version: body.version },
          caller.actor,
        );
        await audit({
          action: 'flow.assigned',
          targetType: 'flowAssignment',
          targetId: targetId(unit, body.procedureCode),
          unitCode: unit,
          details: {
            flowKey: body.flowKey,
            version: body.version,
            procedureCode: body.procedureCode,
            previous: previous ? `${previous.flowKey}@${previous.version}` : null,
          },
        });
        return { assignment: assignmentOut(assignment), previous: previous ? assignmentOut(previous) : null };
      }),
  }),

  defineRoute({
    ...ASSIGN,
    id: 'flows.unassign',
    method: 'DELETE',
    path: '/flows/assignments',
    summary: 'Bỏ phân công / remove an assignment: the unit inherits again',
    description: 'Without `unitCode`: the assignment of every unit (admins).',
    scope: { kind: 'unit', in: 'query', field: 'unitCode' },
    query: z.object({ unitCode: unitCode.optional(), procedureCode: procedureCode.optional() }),
    status: 204,
    response: noContent,
    handler: async ({ query, unit, scope, audit }) => {
      await scope.require(unit);
      const procedure = query.procedureCode ?? null;
      const previous = await unassign(unit, procedure);
      if (!previous) throw notFound();
      await audit({
        action: 'flow.unassigned',
        targetType: 'flowAssignment',
        targetId: targetId(unit, procedure),
        unitCode: unit,
        details: { previous: `${previous.flowKey}@${previous.version}`, procedureCode: procedure },
      });
      return undefined;
    },
  }),
];
