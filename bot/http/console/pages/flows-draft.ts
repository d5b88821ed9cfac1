import type { FastifyInstance, FastifyReply } from 'fastify';
import { apiText, type ApiErrorBody, type ConsoleApi } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { flows } from '../messages/flows';
import type { Me } from '../nav';
import { signedInPage, toSignIn } from '../page';
import { sendPage } from '../render';
import { flowSvg } from './flows-graph';
import {
  applyOp,
  conditionFields,
  freshId,
  hasOptions,
  nodeErrors,
  nodeFromForm,
  nodeIndexOf,
  NODE_TYPES,
  type Definition,
  type DraftView,
  type Form,
  type Issue,
} from './flows-model';
import { previewView, previewPages } from './flows-preview';

const enc = encodeURIComponent;
const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
type Ctx = { me: Me; api: ConsoleApi; req: import('fastify').FastifyRequest; reply: FastifyReply };
const base = (me: Me) => ({ me, csrf: me.csrfToken, messages: [flows] });

async function loadDraft(api: ConsoleApi, id: string): Promise<DraftView> {
  return api.get<DraftView>(`/flow-drafts/${enc(id)}`);
}

/** Saves a definition (PUT, with the rev the form was drawn from); null when the session ended. */
async function save(ctx: Ctx, draft: DraftView, definition: Definition, rev: number) {
  return ctx.api.call<DraftView & ApiErrorBody>('PUT', `/flow-drafts/${enc(draft.id)}`, {
    body: { rev, definition },
  });
}

/** The draft page: its settings, its questions with what is wrong, the picture, the live preview. */
export async function draftPage(
  ctx: Ctx,
  draft: DraftView,
  extra: { previewId?: string; issues?: Issue[]; notice?: string; error?: string; status?: number } = {},
): Promise<FastifyReply> {
  const { me, req, reply } = ctx;
  const t = translator(langOf(req), flows, common);
  const def = draft.definition;
  const issues = extra.issues ?? draft.issues;
  const byNode = new Map<number, Issue[]>();
  const flowIssues: Issue[] = [];
  for (const i of issues) {
    const n = nodeIndexOf(i.path);
    if (n === null) flowIssues.push(i);
    else byNode.set(n, [...(byNode.get(n) ?? []), i]);
  }
  const preview = await previewView(ctx, extra.previewId);
  return sendPage(req, reply, 'flows-draft', {
    ...base(me),
    title: 'flows.draft.title',
    status: extra.status,
    fragment: undefined,
    data: {
      draft,
      def,
      heading: t('flows.draft.heading', { key: draft.key }),
      nodes: (def.nodes ?? []).map((n, i) => ({ n, i, issues: byNode.get(i) ?? [] })),
      flowIssues,
      issueCount: issues.length,
      svg: flowSvg(def, 'graph-heading', t('flows.graph.missing')),
      preview,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
    },
  });
}

function nodePage(
  ctx: Ctx,
  draft: DraftView,
  index: number,
  extra: {
    errors?: Record<string, string>;
    notice?: string;
    status?: number;
    node?: Definition['nodes'];
  } = {},
): FastifyReply {
  const { me, req, reply } = ctx;
  const t = translator(langOf(req), flows, common);
  const node = (extra.node ?? draft.definition.nodes ?? [])[index]!;
  const ids = (draft.definition.nodes ?? []).map((n) => n.id).filter((id) => id !== node.id);
  return sendPage(req, reply, 'flows-node', {
    ...base(me),
    title: 'flows.node.title',
    status: extra.status,
    data: {
      draft,
      node,
      heading: t('flows.node.heading', { id: node.id }),
      types: NODE_TYPES,
      ids,
      withOptions: hasOptions(node.type),
      branches: (node.branches ?? []).map((b) => ({ ...conditionFields(b.when ?? {}), to: b.to })),
      errors: extra.errors ?? nodeErrors(draft.issues, index),
      e: escapeHtml,
      notice: extra.notice ?? null,
    },
  });
}

export function flowDraftPages(app: FastifyInstance): void {
  app.get(
    '/admin/flows/drafts/:id',
    signedInPage<{ preview?: string; saved?: string }>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const t = translator(langOf(ctx.req), flows, common);
      const draft = await loadDraft(ctx.api, id);
      return draftPage(ctx, draft, {
        previewId: ctx.query.preview,
        notice: ctx.query.saved ? t('flows.saved') : undefined,
      });
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/settings',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const { body, req, reply } = ctx;
      const draft = await loadDraft(ctx.api, id);
      const def: Definition = {
        ...draft.definition,
        title: {
          vi: (body.title_vi ?? '').trim(),
          ...(body.title_en?.trim() ? { en: body.title_en.trim() } : {}),
        },
        start: (body.start ?? '').trim(),
        placeholders: (body.placeholders ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      };
      const r = await save(ctx, draft, def, Number(body.rev));
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status !== 200)
        return draftPage(ctx, draft, { error: apiText(r.body?.message, langOf(ctx.req)), status: r.status });
      return reply.redirect(`/admin/flows/drafts/${enc(id)}?saved=1`, 303);
    }),
  );

  app.get(
    '/admin/flows/drafts/:id/nodes/:node',
    signedInPage(async (ctx) => {
      const { id, node } = ctx.req.params as { id: string; node: string };
      const draft = await loadDraft(ctx.api, id);
      const index = (draft.definition.nodes ?? []).findIndex((n) => n.id === node);
      if (index < 0) return reply404(ctx);
      const t = translator(langOf(ctx.req), flows, common);
      return nodePage(ctx, draft, index, {
        notice: (ctx.req.query as { saved?: string }).saved ? t('flows.saved') : undefined,
      });
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/nodes/:node',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id, node: nodeId } = ctx.req.params as { id: string; node: string };
      const { body, req, reply } = ctx;
      const draft = await loadDraft(ctx.api, id);
      const nodes = [...(draft.definition.nodes ?? [])];
      const index = nodes.findIndex((n) => n.id === nodeId);
      if (index < 0) return reply404(ctx);
      nodes[index] = applyOp(nodeFromForm(nodes[index]!, body), body.op);
      const r = await save(ctx, draft, { ...draft.definition, nodes }, Number(body.rev));
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status !== 200) {
        const t = translator(langOf(req), flows, common);
        return nodePage(ctx, draft, index, {
          node: nodes,
          errors: { node: r.status === 409 ? t('flows.conflict') : apiText(r.body?.message, langOf(req)) },
          status: r.status,
        });
      }
      const anchor = body.op ? `#${body.op.startsWith('add-branch') ? 'branches' : 'options'}` : '';
      return reply.redirect(`/admin/flows/drafts/${enc(id)}/nodes/${enc(nodeId)}?saved=1${anchor}`, 303);
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/nodes',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const draft = await loadDraft(ctx.api, id);
      const nodeId = freshId(draft.definition);
      const type = (NODE_TYPES as readonly string[]).includes(ctx.body.type ?? '')
        ? ctx.body.type!
        : 'scale5';
      const node = {
        id: nodeId,
        type,
        element: null,
        text: { vi: '' },
        branches: [],
        ...(hasOptions(type)
          ? {
              options: [
                { value: '', label: { vi: '' } },
                { value: '', label: { vi: '' } },
              ],
            }
          : {}),
      };
      const def = { ...draft.definition, nodes: [...(draft.definition.nodes ?? []), node] };
      const r = await save(ctx, draft, def, Number(ctx.body.rev));
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 200)
        return draftPage(ctx, draft, { error: apiText(r.body?.message, langOf(ctx.req)), status: r.status });
      return ctx.reply.redirect(`/admin/flows/drafts/${enc(id)}/nodes/${enc(nodeId)}`, 303);
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/nodes/:node/delete',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id, node: nodeId } = ctx.req.params as { id: string; node: string };
      const draft = await loadDraft(ctx.api, id);
      const nodes = (draft.definition.nodes ?? []).filter((n) => n.id !== nodeId);
      const r = await save(ctx, draft, { ...draft.definition, nodes }, Number(ctx.body.rev));
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 200)
        return draftPage(ctx, draft, { error: apiText(r.body?.message, langOf(ctx.req)), status: r.status });
      return ctx.reply.redirect(`/admin/flows/drafts/${enc(id)}?saved=1`, 303);
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/validate',
    signedInPage(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const t = translator(langOf(ctx.req), flows, common);
      const r = await ctx.api.call<ApiErrorBody>('POST', `/flow-drafts/${enc(id)}/validate`);
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      const draft = await loadDraft(ctx.api, id);
      if (r.status === 200) return draftPage(ctx, draft, { issues: [], notice: t('flows.valid') });
      const issues = (r.body?.details ?? []).map((d) => ({ path: d.path, message: d.message }));
      return draftPage(ctx, draft, { issues, status: r.status });
    }),
  );

  app.get(
    '/admin/flows/drafts/:id/publish',
    signedInPage(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const draft = await loadDraft(ctx.api, id);
      return sendPage(ctx.req, ctx.reply, 'flows-publish', {
        ...base(ctx.me),
        title: 'flows.publish.title',
        data: { draft },
      });
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/publish',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const t = translator(langOf(ctx.req), flows, common);
      const draft = await loadDraft(ctx.api, id);
      if (ctx.body.confirm !== 'yes')
        return draftPage(ctx, draft, { error: t('flows.publish.unconfirmed'), status: 422 });
      const r = await ctx.api.call<{ key: string; version: number } & ApiErrorBody>(
        'POST',
        `/flow-drafts/${enc(id)}/publish`,
        { body: { rev: Number(ctx.body.rev) } },
      );
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201) {
        const issues = (r.body?.details ?? []).map((d) => ({ path: d.path, message: d.message }));
        return draftPage(ctx, draft, {
          issues: issues.length ? issues : undefined,
          error: r.status === 409 ? t('flows.conflict') : apiText(r.body?.message, langOf(ctx.req)),
          status: r.status,
        });
      }
      return ctx.reply.redirect(
        `/admin/flows/${enc(r.body.key)}/versions/${r.body.version}?published=1`,
        303,
      );
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/delete',
    signedInPage(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const r = await ctx.api.call('DELETE', `/flow-drafts/${enc(id)}`);
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      return ctx.reply.redirect('/admin/flows?done=deleted', 303);
    }),
  );

  previewPages(app);
}

function reply404(ctx: Ctx): FastifyReply {
  return sendPage(ctx.req, ctx.reply, 'error', {
    title: 'error.title',
    me: ctx.me,
    csrf: ctx.me.csrfToken,
    status: 404,
    data: { messageKey: 'error.notFound', apiMessage: null },
  });
}
