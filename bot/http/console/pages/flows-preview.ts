import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiText, type ApiErrorBody, type ConsoleApi } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { flows } from '../messages/flows';
import type { Me } from '../nav';
import { signedInPage, toSignIn } from '../page';
import { sendPage } from '../render';
import type { DraftView, Form } from './flows-model';

/**
 * The live preview: the draft run by the real engine through the API's preview resource
 * (bot/http/api/routes/preview.ts; a throwaway conversation in Redis, nothing recorded), shown
 * as a chat panel beside the editor. Buttons and the text box post to the console, which sends
 * the input to the API; htmx swaps the panel (without JavaScript, the page reloads on it).
 */
interface Choice {
  label: string;
  action: { kind: string; step: number; node: string; value?: string };
  selected?: boolean;
}
type Outbound =
  | { kind: 'text'; text: string }
  | {
      kind: 'question';
      node: string;
      step: number;
      text: string;
      expects: string;
      choices: Choice[][];
      optional: boolean;
      progress?: { label: string };
    };
interface Turn {
  input:
    | { kind: 'text'; text: string }
    | { kind: 'action'; action: Choice['action'] }
    | { kind: 'command'; name: string }
    | null;
  messages: Outbound[];
}
interface Preview {
  id: string;
  status: string;
  current: string | null;
  turns: Turn[];
}

export interface PreviewPanel {
  id: string | null;
  status: string | null;
  bubbles: Array<{ who: 'bot' | 'me'; text: string; progress?: string }>;
  /** The question waiting for an answer: its buttons, and whether it takes typed text. */
  open: { choices: Choice[][]; typed: boolean } | null;
  error: string | null;
}

type Ctx = { me: Me; api: ConsoleApi; req: FastifyRequest; reply: FastifyReply };
const enc = encodeURIComponent;

function panelOf(p: Preview): PreviewPanel {
  const bubbles: PreviewPanel['bubbles'] = [];
  let last: Extract<Outbound, { kind: 'question' }> | null = null;
  for (const turn of p.turns) {
    const i = turn.input;
    if (i?.kind === 'text') bubbles.push({ who: 'me', text: i.text });
    else if (i?.kind === 'action') {
      const label = last?.choices
        .flat()
        .find((c) => c.action.kind === i.action.kind && c.action.value === i.action.value)?.label;
      bubbles.push({ who: 'me', text: label ?? i.action.value ?? i.action.kind });
    } else if (i?.kind === 'command') bubbles.push({ who: 'me', text: `/${i.name}` });
    for (const m of turn.messages) {
      if (m.kind === 'question') last = m;
      bubbles.push({
        who: 'bot',
        text: m.text,
        ...(m.kind === 'question' && m.progress ? { progress: m.progress.label } : {}),
      });
    }
  }
  const open =
    p.status === 'active' && last && last.node === p.current
      ? { choices: last.choices, typed: last.expects === 'text' || last.expects === 'number' }
      : null;
  return { id: p.id, status: p.status, bubbles, open, error: null };
}

/** The panel for the draft page: the preview `id` if it is still there, else an empty panel. */
export async function previewView(ctx: Ctx, id: string | undefined): Promise<PreviewPanel> {
  const empty: PreviewPanel = { id: null, status: null, bubbles: [], open: null, error: null };
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return empty;
  const r = await ctx.api.call<Preview>('GET', `/previews/${enc(id)}`);
  return r.status === 200 && r.body ? panelOf(r.body) : empty;
}

function sendPanel(ctx: Ctx, draft: DraftView, panel: PreviewPanel, status = 200): FastifyReply {
  if (ctx.req.headers['hx-request'] !== 'true')
    return ctx.reply.redirect(
      `/admin/flows/drafts/${enc(draft.id)}${panel.id ? `?preview=${enc(panel.id)}` : ''}#preview`,
      303,
    );
  return sendPage(ctx.req, ctx.reply, 'flows-preview', {
    me: ctx.me,
    csrf: ctx.me.csrfToken,
    messages: [flows],
    title: 'flows.preview.title',
    status,
    fragment: 'flows-preview',
    data: { draft, preview: panel },
  });
}

export function previewPages(app: FastifyInstance): void {
  // Start, or restart: a new conversation on the draft as it is saved now.
  app.post(
    '/admin/flows/drafts/:id/preview',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const lang = ctx.body.lang === 'en' ? 'en' : 'vi';
      const draft = await ctx.api.get<DraftView>(`/flow-drafts/${enc(id)}`);
      const r = await ctx.api.call<Preview & ApiErrorBody>('POST', '/previews', {
        body: { draftId: draft.id, lang, channel: 'web' },
      });
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201) {
        const t = translator(langOf(ctx.req), flows, common);
        const error =
          r.status === 422 ? t('flows.preview.invalid') : apiText(r.body?.message, langOf(ctx.req));
        if (ctx.req.headers['hx-request'] !== 'true')
          return ctx.reply.redirect(`/admin/flows/drafts/${enc(draft.id)}#preview`, 303);
        return sendPanel(ctx, draft, { id: null, status: null, bubbles: [], open: null, error });
      }
      return sendPanel(ctx, draft, panelOf(r.body));
    }),
  );

  app.post(
    '/admin/flows/drafts/:id/preview/:pid',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id, pid } = ctx.req.params as { id: string; pid: string };
      const draft = await ctx.api.get<DraftView>(`/flow-drafts/${enc(id)}`);
      let input: unknown;
      if (ctx.body.action) {
        try {
          input = { kind: 'action', action: JSON.parse(ctx.body.action) as unknown };
        } catch {
          input = null;
        }
      } else if (ctx.body.text?.trim()) input = { kind: 'text', text: ctx.body.text.trim() };
      if (input) {
        const r = await ctx.api.call('POST', `/previews/${enc(pid)}/inputs`, { body: { input } });
        if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      }
      const got = await ctx.api.call<Preview>('GET', `/previews/${enc(pid)}`);
      if (got.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (got.status !== 200) {
        const t = translator(langOf(ctx.req), flows, common);
        return sendPanel(ctx, draft, {
          id: null,
          status: null,
          bubbles: [],
          open: null,
          error: t('flows.preview.gone'),
        });
      }
      return sendPanel(ctx, draft, panelOf(got.body));
    }),
  );
}
