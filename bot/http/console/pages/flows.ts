import type { FastifyInstance, FastifyReply } from 'fastify';
import { apiText, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { flows } from '../messages/flows';
import { overview } from '../messages/overview';
import type { Me } from '../nav';
import { signedInPage, toSignIn, type PageContext } from '../page';
import { sendPage } from '../render';
import { flowSvg, edgesOf } from './flows-graph';
import type { Assignment, Definition, DraftView, FlowList } from './flows-model';
import { treeOptions, type UnitRow } from './overview-model';
import { flowDraftPages } from './flows-draft';
import { unitNamer } from './unit-names';

type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;
const page = (me: Me) => ({ me, csrf: me.csrfToken, messages: [flows, overview] });

/** An API refusal of a form: its message (and the first field's), in the person's language. */
export function refusalText(body: ApiErrorBody | null, lang: 'vi' | 'en'): string {
  const detail = body?.details?.[0];
  return [apiText(body?.message, lang), detail ? `${detail.path}: ${apiText(detail.message, lang)}` : '']
    .filter(Boolean)
    .join(' — ');
}

async function listPage(
  ctx: PageContext,
  extra: { error?: string; notice?: string; importText?: string; status?: number } = {},
): Promise<FastifyReply> {
  const { me, api, req, reply } = ctx;
  const t = translator(langOf(req), flows, overview, common);
  const can = new Set(me.user.permissions);
  const [list, drafts, assignments, units] = await Promise.all([
    api.get<FlowList>('/flows'),
    api.get<{ drafts: DraftView[] }>('/flow-drafts'),
    api.get<{ assignments: Assignment[] }>('/flows/assignments'),
    api.get<{ units: UnitRow[] }>('/units'),
  ]);
  const unitName = unitNamer(units.units);
  return sendPage(req, reply, 'flows', {
    ...page(me),
    title: 'flows.title',
    status: extra.status,
    data: {
      flows: list.flows,
      drafts: drafts.drafts,
      assignments: assignments.assignments.map((a) => ({
        ...a,
        unitName: a.unitCode ? unitName(a.unitCode) : t('flows.everyUnit'),
      })),
      units: treeOptions(units.units, t),
      admin: me.user.role === 'admin',
      canWrite: can.has('flows:write'),
      canAssign: can.has('flows:assign'),
      error: extra.error ?? null,
      notice: extra.notice ?? null,
      importText: extra.importText ?? '',
    },
  });
}

/**
 * Bảng hỏi: the flows and their versions, the drafts, which version is live where (and the
 * form to change it), import; a version's picture and questions, the difference between two
 * versions. The draft editor, publishing and the live preview are in flows-draft.ts.
 */
export function flowPages(app: FastifyInstance): void {
  app.get(
    '/admin/flows',
    signedInPage<{ done?: string }>(async (ctx) => {
      const t = translator(langOf(ctx.req), flows, common);
      const done = ctx.query.done;
      const notice = done === 'assigned' || done === 'deleted' ? t(`flows.done.${done}`) : undefined;
      return listPage(ctx, { notice });
    }),
  );

  app.get(
    '/admin/flows/:key/versions/:version',
    signedInPage<{ published?: string }>(async ({ me, api, req, reply, query }) => {
      const { key, version } = req.params as { key: string; version: string };
      const t = translator(langOf(req), flows, overview, common);
      const [v, list, units] = await Promise.all([
        api.get<{
          key: string;
          version: number;
          status: string;
          publishedAt: string | null;
          createdBy: string;
          definition: Definition;
        }>(`/flows/${enc(key)}/versions/${enc(version)}`),
        api.get<FlowList>('/flows'),
        api.get<{ units: UnitRow[] }>('/units'),
      ]);
      const can = new Set(me.user.permissions);
      return sendPage(req, reply, 'flows-version', {
        ...page(me),
        title: 'flows.version.title',
        data: {
          v,
          heading: t('flows.version.heading', { key: v.key, version: v.version }),
          versions: list.flows.find((f) => f.key === v.key)?.versions ?? [],
          svg: flowSvg(v.definition, 'graph-heading', t('flows.graph.missing')),
          edges: edgesOf(v.definition),
          published: query.published === '1',
          units: treeOptions(units.units, t),
          admin: me.user.role === 'admin',
          canWrite: can.has('flows:write'),
          canAssign: can.has('flows:assign'),
        },
      });
    }),
  );

  app.get(
    '/admin/flows/:key/diff',
    signedInPage<{ from?: string; to?: string }>(async ({ me, api, req, reply, query }) => {
      const { key } = req.params as { key: string };
      const list = await api.get<FlowList>('/flows');
      const versions = list.flows.find((f) => f.key === key)?.versions ?? [];
      const last = versions[versions.length - 1]?.version ?? 1;
      const to = query.to || String(last);
      const from = query.from || String(Math.max(1, Number(to) - 1));
      const diff = await api.get<{
        nodes: { added: string[]; removed: string[]; changed: string[] };
        changes: Array<{
          node: string | null;
          aspect: string;
          change: string;
          path: string;
          from?: unknown;
          to?: unknown;
        }>;
      }>(`/flows/${enc(key)}/diff`, { from, to });
      const show = (x: unknown) =>
        x === undefined ? '' : typeof x === 'string' ? x : JSON.stringify(x, null, 0);
      return sendPage(req, reply, 'flows-diff', {
        ...page(me),
        title: 'flows.diff.title',
        data: {
          key,
          from,
          to,
          versions,
          diff,
          changes: diff.changes.map((c) => ({ ...c, fromText: show(c.from), toText: show(c.to) })),
        },
      });
    }),
  );

  app.post(
    '/admin/flows/drafts',
    signedInPage<unknown, Form>(async (ctx) => {
      const { api, req, reply, body } = ctx;
      const r = await api.call<DraftView & ApiErrorBody>('POST', '/flow-drafts', {
        body: {
          key: body.key,
          ...(body.fromVersion ? { fromVersion: Number(body.fromVersion) } : {}),
        },
      });
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status !== 201)
        return listPage(ctx, { error: refusalText(r.body, langOf(req)), status: r.status });
      return reply.redirect(`/admin/flows/drafts/${enc(r.body.id)}`, 303);
    }),
  );

  app.post(
    '/admin/flows/assign',
    signedInPage<unknown, Form>(async (ctx) => {
      const { api, req, reply, body } = ctx;
      const [flowKey, version] = String(body.flowVersion ?? '').split('@');
      const r = await api.call<ApiErrorBody>('PUT', '/flows/assignments', {
        body: {
          unitCode: body.unitCode ? body.unitCode : null,
          procedureCode: body.procedureCode?.trim() ? body.procedureCode.trim() : null,
          flowKey,
          version: Number(version),
        },
      });
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status !== 200)
        return listPage(ctx, { error: refusalText(r.body, langOf(req)), status: r.status });
      return reply.redirect('/admin/flows?done=assigned#assignments', 303);
    }),
  );

  app.post(
    '/admin/flows/import',
    signedInPage<unknown, Form>(async (ctx) => {
      const { api, req, reply, body } = ctx;
      const t = translator(langOf(req), flows, common);
      let document: unknown;
      try {
        document = JSON.parse(body.document ?? '');
      } catch {
        return listPage(ctx, { error: t('flows.import.notJson'), importText: body.document, status: 422 });
      }
      const r = await api.call<DraftView & ApiErrorBody>('POST', '/flows/import', { body: { document } });
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status !== 201)
        return listPage(ctx, {
          error: refusalText(r.body, langOf(req)),
          importText: body.document,
          status: r.status,
        });
      return reply.redirect(`/admin/flows/drafts/${enc(r.body.id)}`, 303);
    }),
  );

  flowDraftPages(app);
}
