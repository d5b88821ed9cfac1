import type { FastifyInstance, FastifyReply } from 'fastify';
import { apiText, fieldErrors, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { broadcasts } from '../messages/broadcasts';
import { common } from '../messages/common';
import { overview } from '../messages/overview';
import { presentedCsrf, signedInPage, toSignIn, type PageContext } from '../page';
import { sendPage } from '../render';
import { readUnitNames } from './unit-names';
import { when } from './cases-model';
import { treeOptions, type UnitRow } from './overview-model';
import {
  actionsFor,
  BROADCAST_STATUSES,
  contentOfForm,
  excerpt,
  fieldOfPath,
  MAX_BUTTONS,
  previewParts,
  progressFigures,
  sendAtOfForm,
  badSendAt,
  targetOfForm,
  TERMINAL,
  type BroadcastView,
  type ProgressView,
  type RecipientCount,
  type RenderedView,
} from './broadcasts-model';
import { broadcastActions } from './broadcasts-actions';
import { renderBroadcast } from './broadcasts-show';

type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;

/** The units a broadcast may target: those in the person's scope that still exist, in tree order. */
async function unitChoices({ api, req }: PageContext): Promise<Array<{ code: string; label: string }>> {
  const { units } = await api.get<{ units: UnitRow[] }>('/units');
  const now = Date.now();
  const live = units.filter((u) => !u.validTo || new Date(u.validTo).getTime() > now);
  return treeOptions(live, translator(langOf(req), overview, common));
}

/** The count of a target, or the API's reason it cannot be counted (a unit outside scope: 404). */
async function countOf(
  ctx: PageContext,
  f: Form,
): Promise<{ count: RecipientCount | null; countError: string | null }> {
  const r = await ctx.api.call<RecipientCount & ApiErrorBody>('POST', '/broadcasts/count', {
    body: targetOfForm(f),
  });
  if (r.status === 200) return { count: r.body, countError: null };
  return { count: null, countError: apiText(r.body?.message, langOf(ctx.req)) || String(r.status) };
}

/**
 * The preview of the typed content: each language's message and the problems the API finds; an
 * empty list when there is nothing to preview yet, none at all (null) when the API refused it.
 */
async function previewOf(
  ctx: PageContext,
  f: Form,
): Promise<{ previews: Array<RenderedView & { body: string; footer: string }> | null; problems: string[] }> {
  const content = contentOfForm(f);
  if (!content.text.trim()) return { previews: [], problems: [] };
  const r = await ctx.api.call<{ problems: string[]; messages: RenderedView[] } & ApiErrorBody>(
    'POST',
    '/broadcasts/preview',
    { body: content },
  );
  if (r.status !== 200) {
    const lang = langOf(ctx.req);
    const details = (r.body?.details ?? []).map((d) => `${d.path}: ${apiText(d.message, lang)}`);
    return { previews: null, problems: details.length ? details : [apiText(r.body?.message, lang)] };
  }
  return {
    previews: r.body.messages.map((m) => ({ ...m, ...previewParts(m) })),
    problems: r.body.problems,
  };
}

/** The composer, empty or with what was typed and the API's errors next to the fields. */
async function renderComposer(
  ctx: PageContext,
  values: Form,
  errors: Record<string, string> = {},
  status = 200,
): Promise<FastifyReply> {
  const units = await unitChoices(ctx);
  const v = { ...values, unitCode: values.unitCode ?? units[0]?.code ?? '' };
  return sendPage(ctx.req, ctx.reply, 'broadcasts-new', {
    title: 'bc.newTitle',
    me: ctx.me,
    csrf: ctx.me.csrfToken,
    messages: [broadcasts],
    status,
    data: {
      v,
      errors,
      units,
      maxButtons: MAX_BUTTONS,
      // A GET presents no CSRF token, which the API's POSTs need: the page then asks for the
      // count itself once loaded (hx-trigger="load"); a redrawn form post presents its own.
      ...(presentedCsrf(ctx.req)
        ? { ...(await countOf(ctx, v)), ...(await previewOf(ctx, v)) }
        : { count: null, countError: null, previews: [], problems: [] }),
    },
  });
}

/**
 * Tuyên truyền: the list (with what waits for the person's approval), the composer with the
 * recipient count and a preview per channel kept up to date by htmx, and a broadcast's page
 * (test send, schedule, approval, progress with pause/resume/cancel, the final report). Every
 * read and write is the API's (routes/broadcasts.ts, broadcast-control.ts, chat-link.ts).
 */
export function broadcastPages(app: FastifyInstance): void {
  app.get(
    '/admin/broadcasts',
    signedInPage<{ status?: string }>(async ({ me, api, req, reply, query }) => {
      const status = (BROADCAST_STATUSES as readonly string[]).includes(query.status ?? '')
        ? query.status
        : undefined;
      const [{ broadcasts: list }, unitName] = await Promise.all([
        api.get<{ broadcasts: BroadcastView[] }>('/broadcasts', { status }),
        readUnitNames(api),
      ]);
      const can = new Set(me.user.permissions);
      const pending = can.has('broadcasts:approve')
        ? list.filter(
            (b) => actionsFor(b, { username: me.user.username, permissions: me.user.permissions }).approve,
          )
        : null;
      return sendPage(req, reply, 'broadcasts', {
        title: 'bc.title',
        me,
        csrf: me.csrfToken,
        messages: [broadcasts],
        data: {
          list,
          unitName,
          pending,
          status: status ?? '',
          statuses: BROADCAST_STATUSES,
          write: can.has('broadcasts:write'),
          when,
          excerpt,
        },
      });
    }),
  );

  app.get(
    '/admin/broadcasts/new',
    signedInPage(async (ctx) => renderComposer(ctx, { ch_telegram: 'on', ch_zalo: 'on' })),
  );

  // htmx: the composer's recipient count and preview, redrawn as the form changes.
  app.post(
    '/admin/broadcasts/count',
    signedInPage<unknown, Form>(async (ctx) =>
      sendPage(ctx.req, ctx.reply, 'broadcasts-count', {
        title: 'bc.title',
        messages: [broadcasts],
        data: await countOf(ctx, ctx.body),
      }),
    ),
  );
  app.post(
    '/admin/broadcasts/preview',
    signedInPage<unknown, Form>(async (ctx) =>
      sendPage(ctx.req, ctx.reply, 'broadcasts-preview', {
        title: 'bc.title',
        messages: [broadcasts],
        data: await previewOf(ctx, ctx.body),
      }),
    ),
  );

  app.post(
    '/admin/broadcasts',
    signedInPage<unknown, Form>(async (ctx) => {
      const f = ctx.body ?? {};
      // A send time that is not one: said under its field; nothing is saved.
      if (badSendAt(f.sendAt))
        return renderComposer(ctx, f, { sendAt: translator(langOf(ctx.req), common)('day.badTime') }, 422);
      const sendAt = sendAtOfForm(f.sendAt);
      const r = await ctx.api.call<{ id: string } & ApiErrorBody>('POST', '/broadcasts', {
        body: {
          ...contentOfForm(f),
          ...targetOfForm(f),
          ...(sendAt ? { sendAt } : {}),
          ignoreQuietHours: f.ignoreQuietHours === 'on',
        },
      });
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201) {
        const lang = langOf(ctx.req);
        const errors: Record<string, string> = {};
        for (const [path, msg] of Object.entries(fieldErrors(r.body, lang)))
          errors[fieldOfPath(path)] ??= msg;
        errors.form = apiText(r.body?.message, lang);
        return renderComposer(ctx, f, errors, r.status === 404 ? 404 : 422);
      }
      return ctx.reply.redirect(`/admin/broadcasts/${enc(r.body.id)}?done=created`, 303);
    }),
  );

  app.get(
    '/admin/broadcasts/:id',
    signedInPage<{ done?: string; channel?: string }>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      return renderBroadcast(ctx, id, { done: ctx.query.done, channel: ctx.query.channel });
    }),
  );

  // htmx polls this every 2 s while the broadcast runs; a change of state loads the page again, whose
  // actions and report depend on it.
  app.get(
    '/admin/broadcasts/:id/progress',
    signedInPage<{ was?: string }>(async ({ api, req, reply, query, me }) => {
      const { id } = req.params as { id: string };
      const { broadcast: b, progress } = await api.get<{ broadcast: BroadcastView; progress: ProgressView }>(
        `/broadcasts/${enc(id)}`,
      );
      // To the page itself: its notice (?done=approved…) belongs to the state it was shown for.
      if (query.was && query.was !== b.status)
        return reply.header('hx-redirect', `/admin/broadcasts/${enc(b.id)}`).send('');
      const t = translator(langOf(req), broadcasts, common);
      return sendPage(req, reply, 'broadcasts-progress', {
        title: 'bc.title',
        me,
        messages: [broadcasts],
        data: { b, p: progress, fig: progressFigures(progress, t), terminal: TERMINAL.has(b.status) },
      });
    }),
  );

  broadcastActions(app);
}
