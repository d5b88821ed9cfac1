import { z } from 'zod';
import { Flow as FlowModel } from '../../../../models/flow';
import { diffFlows } from '../../../flow/diff';
import { createDraft, versionDefinition } from '../../../flow/drafts';
import { invalid, notFound } from '../errors';
import { defineRoute } from '../route';
import { iso, isoDate, unitCode } from '../schemas';
import { draftOut, draftView } from './flow-drafts';
import { draftDefinition, flowDefinition, flowKey, flowVersion, keyAndVersion } from './flow-schemas';

/** The export file's format: a definition and where it came from (docs/flows.md, "Export and import"). */
export const EXPORT_FORMAT = 'hailong.flow' as const;

const versionSummary = z.object({
  version: z.number().int(),
  status: z.enum(['published', 'archived']),
  publishedAt: isoDate.nullable(),
  createdBy: z.string(),
});

const exportDocument = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    formatVersion: z.literal(1),
    exportedAt: isoDate,
    source: z.object({ key: flowKey, version: z.number().int() }),
    flow: flowDefinition,
  })
  .meta({ id: 'FlowExport' });

const importDocument = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.literal(1),
  flow: draftDefinition,
});

const READ = { auth: 'user', permission: 'flows:read', tag: 'flows' } as const;
const PUBLISHED = { kind: 'global', why: 'published versions are shared by every unit' } as const;

async function loadVersion(key: string, version: number) {
  const doc = await FlowModel.findOne({ key, version, status: { $in: ['published', 'archived'] } }).lean();
  if (!doc) throw notFound();
  return doc;
}

export const flowRoutes = [
  defineRoute({
    ...READ,
    id: 'flows.list',
    method: 'GET',
    path: '/flows',
    summary: 'Quy trình câu hỏi / flow keys and their published versions',
    scope: PUBLISHED,
    response: z.object({
      flows: z.array(
        z.object({
          key: flowKey,
          title: z.string().describe('the latest version’s Vietnamese title'),
          latest: z.number().int(),
          versions: z.array(versionSummary),
        }),
      ),
    }),
    handler: async () => {
      const docs = await FlowModel.find(
        { status: { $in: ['published', 'archived'] } },
        { key: 1, version: 1, status: 1, publishedAt: 1, createdBy: 1, 'definition.title': 1 },
      )
        .sort({ key: 1, version: 1 })
        .lean();
      const byKey = new Map<string, typeof docs>();
      for (const d of docs) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
      return {
        flows: [...byKey].map(([key, versions]) => {
          const last = versions[versions.length - 1]!;
          const title = (last as { definition?: { title?: { vi?: string } } }).definition?.title?.vi ?? key;
          return {
            key,
            title,
            latest: last.version,
            versions: versions.map((v) => ({
              version: v.version,
              status: v.status as 'published' | 'archived',
              publishedAt: iso(v.publishedAt),
              createdBy: v.createdBy,
            })),
          };
        }),
      };
    },
  }),

  defineRoute({
    ...READ,
    id: 'flows.getVersion',
    method: 'GET',
    path: '/flows/:key/versions/:version',
    summary: 'Một phiên bản / one published version (immutable)',
    scope: PUBLISHED,
    params: keyAndVersion,
    response: versionSummary.extend({ key: flowKey, definition: flowDefinition }),
    handler: async ({ params }) => {
      const doc = await loadVersion(params.key, params.version);
      return {
        key: doc.key,
        version: doc.version,
        status: doc.status as 'published' | 'archived',
        publishedAt: iso(doc.publishedAt),
        createdBy: doc.createdBy,
        definition: flowDefinition.parse(doc.definition),
      };
    },
  }),

  defineRoute({
    ...READ,
    id: 'flows.diff',
    method: 'GET',
    path: '/flows/:key/diff',
    summary: 'So sánh hai phiên bản / what changed from one version to another',
    description:
      'Nodes added, removed and changed, and each change by what it touches: texts, options (by value), branches, settings.',
    scope: PUBLISHED,
    params: z.object({ key: flowKey }),
    query: z.object({ from: flowVersion, to: flowVersion }),
    response: z.object({
      key: flowKey,
      from: z.number().int(),
      to: z.number().int(),
      nodes: z.object({
        added: z.array(z.string()),
        removed: z.array(z.string()),
        changed: z.array(z.string()),
      }),
      changes: z.array(
        z.object({
          node: z.string().nullable(),
          aspect: z.enum([
            'title',
            'start',
            'placeholders',
            'node',
            'type',
            'text',
            'element',
            'next',
            'branches',
            'option',
            'setting',
          ]),
          change: z.enum(['added', 'removed', 'changed']),
          path: z.string(),
          from: z.unknown().optional(),
          to: z.unknown().optional(),
        }),
      ),
    }),
    handler: async ({ params, query }) => {
      const [a, b] = await Promise.all([
        versionDefinition(params.key, query.from),
        versionDefinition(params.key, query.to),
      ]);
      if (!a || !b) throw notFound();
      return { key: params.key, from: query.from, to: query.to, ...diffFlows(a, b) };
    },
  }),

  defineRoute({
    ...READ,
    id: 'flows.export',
    method: 'GET',
    path: '/flows/:key/versions/:version/export',
    summary: 'Xuất phiên bản ra tệp JSON / a version as a JSON file to import elsewhere',
    scope: PUBLISHED,
    params: keyAndVersion,
    response: exportDocument,
    handler: async ({ params, reply }) => {
      const doc = await loadVersion(params.key, params.version);
      void reply.header('content-disposition', `attachment; filename="${doc.key}@${doc.version}.flow.json"`);
      return {
        format: EXPORT_FORMAT,
        formatVersion: 1 as const,
        exportedAt: new Date().toISOString(),
        source: { key: doc.key, version: doc.version },
        flow: flowDefinition.parse(doc.definition),
      };
    },
  }),

  defineRoute({
    auth: 'user',
    permission: 'flows:write',
    tag: 'flows',
    id: 'flows.import',
    method: 'POST',
    path: '/flows/import',
    summary: 'Nhập tệp JSON thành bản nháp / import an exported flow as a draft',
    description:
      'The file of flows.export (or any definition in its envelope) becomes a draft of its key, ' +
      'to be validated and published; `unitCode` is the draft’s unit (default: the caller’s first unit; admins: every unit).',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    body: z.object({ unitCode: unitCode.nullable().optional(), document: importDocument }),
    status: 201,
    response: draftView,
    handler: async ({ body, unit, caller, scope, audit }) => {
      const owner = unit ?? (caller.role === 'admin' ? null : (caller.unitCodes[0] ?? null));
      await scope.require(owner);
      const key = flowKey.safeParse(body.document.flow.key);
      if (!key.success)
        throw invalid([
          { path: 'document.flow.key', in: 'body', message: 'expected a flow key (a-z, 0-9, _ -)' },
        ]);
      const draft = await createDraft({
        key: key.data,
        unitCode: owner,
        definition: body.document.flow,
        baseVersion: null,
        by: caller.actor,
      });
      await audit({
        action: 'flow.imported',
        targetType: 'flowDraft',
        targetId: draft.id,
        unitCode: owner,
        details: { flowKey: draft.key },
      });
      return draftOut(draft);
    },
  }),
];
