import { z } from 'zod';
import {
  checkDraft,
  createDraft,
  deleteDraft,
  findDraft,
  listDrafts,
  publishDraft,
  updateDraft,
  versionDefinition,
  type Draft,
} from '../../../flow/drafts';
import { FlowRepository } from '../../../flow/repository';
import type { Scope } from '../../../../lib/auth/scope';
import { invalid, notFound } from '../errors';
import { defineRoute } from '../route';
import { isoDate, noContent, unitCode } from '../schemas';
import { draftDefinition, flowKey, invalidFlow, issue, mappingFlowErrors } from './flow-schemas';

/** Publishes through its own repository: versions are immutable, so no cache can go stale. */
const repo = new FlowRepository();

export const draftView = z
  .object({
    id: z.string(),
    key: flowKey,
    unitCode: unitCode.nullable().describe('whose draft it is (null: an admin’s, for every unit)'),
    baseVersion: z.number().int().nullable().describe('the version it was copied from'),
    rev: z.number().int().describe('send it back to edit or publish: a stale one is refused with 409'),
    definition: draftDefinition,
    valid: z.boolean(),
    issues: z.array(issue).describe('what validate would answer, each with its path'),
    createdBy: z.string(),
    updatedBy: z.string(),
    createdAt: isoDate,
    updatedAt: isoDate,
  })
  .meta({ id: 'FlowDraft' });

export function draftOut(d: Draft): z.output<typeof draftView> {
  const checked = checkDraft(d);
  return {
    id: d.id,
    key: d.key,
    unitCode: d.unitCode,
    baseVersion: d.baseVersion,
    rev: d.rev,
    definition: d.definition,
    valid: checked.ok,
    issues: checked.ok ? [] : checked.issues,
    createdBy: d.createdBy,
    updatedBy: d.updatedBy,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

/** A draft the caller may see: its unit in scope (an admin’s draft: every-unit callers only), else 404. */
export async function draftInScope(id: string, scope: Scope): Promise<Draft> {
  const draft = await findDraft(id);
  if (!draft || !(await scope.allows(draft.unitCode))) throw notFound();
  return draft;
}

const byId = z.object({ id: z.string().min(1).max(64) });
const WRITE = { auth: 'user', permission: 'flows:write', tag: 'flow drafts' } as const;

export const flowDraftRoutes = [
  defineRoute({
    auth: 'user',
    permission: 'flows:read',
    tag: 'flow drafts',
    id: 'flowDrafts.list',
    method: 'GET',
    path: '/flow-drafts',
    summary: 'Bản nháp / the drafts of the caller’s units',
    scope: { kind: 'list' },
    query: z.object({ key: flowKey.optional() }),
    response: z.object({ drafts: z.array(draftView) }),
    handler: async ({ query, scope }) => {
      const drafts = await listDrafts({
        ...(await scope.filter('unitCode')),
        ...(query.key ? { key: query.key } : {}),
      });
      return { drafts: drafts.map(draftOut) };
    },
  }),

  defineRoute({
    auth: 'user',
    permission: 'flows:read',
    tag: 'flow drafts',
    id: 'flowDrafts.get',
    method: 'GET',
    path: '/flow-drafts/:id',
    summary: 'Một bản nháp / one draft, with what validation would say',
    scope: { kind: 'object' },
    params: byId,
    response: draftView,
    handler: async ({ params, scope }) => draftOut(await draftInScope(params.id, scope)),
  }),

  defineRoute({
    ...WRITE,
    id: 'flowDrafts.create',
    method: 'POST',
    path: '/flow-drafts',
    summary: 'Tạo bản nháp / start a draft: a copy of a version, or a definition',
    description:
      'With `fromVersion`, a copy of that published version of `key`; with `definition`, that ' +
      'definition; with neither, a copy of the latest published version. `unitCode` is the ' +
      'draft’s unit (default: the caller’s first unit; admins: every unit).',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    body: z.object({
      key: flowKey,
      unitCode: unitCode.nullable().optional(),
      fromVersion: z.number().int().min(1).optional(),
      definition: draftDefinition.optional(),
    }),
    status: 201,
    response: draftView,
    handler: async ({ body, unit, caller, scope, audit }) => {
      const owner = unit ?? (caller.role === 'admin' ? null : (caller.unitCodes[0] ?? null));
      await scope.require(owner);
      let definition = body.definition ?? null;
      let baseVersion: number | null = null;
      if (!definition) {
        baseVersion =
          body.fromVersion ?? (await repo.latestPublished(body.key).catch(() => null))?.version ?? null;
        const base = baseVersion ? await versionDefinition(body.key, baseVersion) : null;
        if (!base)
          throw invalid([
            {
              path: body.fromVersion ? 'fromVersion' : 'definition',
              in: 'body',
              message: 'no such published version to copy; give a definition',
            },
          ]);
        definition = base as unknown as Record<string, unknown>;
      }
      const draft = await createDraft({
        key: body.key,
        unitCode: owner,
        definition,
        baseVersion,
        by: caller.actor,
      });
      await audit({
        action: 'flow.draft_created',
        targetType: 'flowDraft',
        targetId: draft.id,
        unitCode: owner,
        details: { flowKey: draft.key, baseVersion },
      });
      return draftOut(draft);
    },
  }),

  defineRoute({
    ...WRITE,
    id: 'flowDrafts.update',
    method: 'PUT',
    path: '/flow-drafts/:id',
    summary: 'Sửa bản nháp / replace a draft’s definition',
    description:
      'Saved even when not valid yet (the answer lists the issues); refused with 409 when `rev` is stale.',
    scope: { kind: 'object' },
    params: byId,
    body: z.object({ rev: z.number().int().min(0), definition: draftDefinition }),
    response: draftView,
    errors: [409],
    handler: async ({ params, body, scope, caller, audit }) =>
      mappingFlowErrors(async () => {
        const draft = await draftInScope(params.id, scope);
        const next = await updateDraft(draft, body.definition, body.rev, caller.actor);
        await audit({
          action: 'flow.draft_updated',
          targetType: 'flowDraft',
          targetId: draft.id,
          unitCode: draft.unitCode,
          details: { flowKey: draft.key, rev: next.rev },
        });
        return draftOut(next);
      }),
  }),

  defineRoute({
    ...WRITE,
    id: 'flowDrafts.delete',
    method: 'DELETE',
    path: '/flow-drafts/:id',
    summary: 'Xoá bản nháp / discard a draft',
    scope: { kind: 'object' },
    params: byId,
    status: 204,
    response: noContent,
    handler: async ({ params, scope, audit }) => {
      const draft = await draftInScope(params.id, scope);
      await deleteDraft(draft.id);
      await audit({
        action: 'flow.draft_deleted',
        targetType: 'flowDraft',
        targetId: draft.id,
        unitCode: draft.unitCode,
        details: { flowKey: draft.key },
      });
      return undefined;
    },
  }),

  defineRoute({
    ...WRITE,
    id: 'flowDrafts.validate',
    method: 'POST',
    path: '/flow-drafts/:id/validate',
    summary: 'Kiểm tra bản nháp / validate a draft: 422 with the path of each offending field',
    scope: { kind: 'object' },
    params: byId,
    response: z.object({ valid: z.literal(true) }),
    handler: async ({ params, scope }) => {
      const checked = checkDraft(await draftInScope(params.id, scope));
      if (!checked.ok) throw invalidFlow(checked.issues);
      return { valid: true as const };
    },
  }),

  defineRoute({
    ...WRITE,
    id: 'flowDrafts.publish',
    method: 'POST',
    path: '/flow-drafts/:id/publish',
    summary: 'Ban hành bản nháp / publish a draft as the next immutable version',
    description:
      'The draft becomes version n+1 of its key and is removed. Publishing makes nothing live by ' +
      'itself: an assignment does (flows.assign). 422 with the issues when it is not valid, 409 when `rev` is stale.',
    scope: { kind: 'object' },
    params: byId,
    body: z.object({ rev: z.number().int().min(0) }),
    status: 201,
    response: z.object({ key: flowKey, version: z.number().int(), publishedFrom: z.string() }),
    errors: [409],
    handler: async ({ params, body, scope, caller, audit }) =>
      mappingFlowErrors(async () => {
        const draft = await draftInScope(params.id, scope);
        const { flow, pinned } = await publishDraft(draft, body.rev, caller.actor, repo);
        if (pinned)
          await audit({
            action: 'flow.assigned',
            targetType: 'flowAssignment',
            targetId: '*/*',
            details: { flowKey: pinned.flowKey, version: pinned.version, pinnedBeforePublish: true },
          });
        await audit({
          action: 'flow.published',
          targetType: 'flow',
          targetId: `${flow.key}@${flow.version}`,
          unitCode: draft.unitCode,
          details: { flowKey: flow.key, version: flow.version, draftId: draft.id },
        });
        return { key: flow.key, version: flow.version, publishedFrom: draft.id };
      }),
  }),
];
