import type { FastifyInstance, FastifyReply } from 'fastify';
import { apiText, fieldErrors, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { cases } from '../messages/cases';
import { common } from '../messages/common';
import { dossiers } from '../messages/dossiers';
import { overview } from '../messages/overview';
import { signedInPage, toSignIn, type PageContext } from '../page';
import { sendPage } from '../render';
import { readUnitNames } from './unit-names';
import {
  actionLabel,
  logDetail,
  resolutionChoices,
  timeLeft,
  when,
  type CaseDetail,
  type CaseList,
  type DossierView,
} from './cases-model';
import { ELEMENTS, valueText, type ResponseList } from './dossiers-model';

type ListQuery = { status?: string; overdue?: string; mine?: string; cursor?: string };
type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;
const DONE = new Set(['assigned', 'noted', 'followUp', 'closed']);

/** The case page, with the errors and typed values of a refused form when there are some. */
async function renderCase(
  { me, api, req, reply }: PageContext,
  caseId: string,
  opts: {
    errors?: Record<string, string>;
    values?: Form;
    done?: string;
    status?: number;
    text?: boolean;
  } = {},
): Promise<FastifyReply> {
  const t = translator(langOf(req), cases, overview, common);
  const [c, unitName] = await Promise.all([api.get<CaseDetail>(`/cases/${enc(caseId)}`), readUnitNames(api)]);
  let dossier: DossierView | null = null;
  let dossierState: 'shown' | 'none' | 'missing' | 'hidden' = c.dossierCode ? 'shown' : 'none';
  if (c.dossierCode) {
    const d = await api.call<DossierView>('GET', `/dossiers/${enc(c.dossierCode)}`);
    if (d.status === 200) dossier = d.body;
    else dossierState = d.status === 404 ? 'missing' : 'hidden';
  }
  const can = new Set(me.user.permissions);
  // The response's answers (GET /responses?responseId): free text only when asked, by a role that may read it (audited by the API).
  const text = !!opts.text && can.has('freeText:read');
  const response = can.has('responses:read')
    ? ((
        await api.get<ResponseList>('/responses', {
          responseId: c.responseId,
          ...(text ? { includeText: 'true' } : {}),
        })
      ).responses[0] ?? null)
    : null;
  return sendPage(req, reply, 'cases-case', {
    title: 'cases.title',
    me,
    csrf: me.csrfToken,
    messages: [cases, dossiers, overview],
    status: opts.status,
    data: {
      c,
      response,
      text,
      canText: can.has('freeText:read') && !!response?.answers.some((a) => a.hasText),
      valueText,
      unitName,
      dossier,
      dossierState,
      write: can.has('cases:write') && c.status !== 'closed',
      errors: opts.errors ?? {},
      values: opts.values ?? {},
      done: opts.done && DONE.has(opts.done) ? opts.done : null,
      resolutions: resolutionChoices(langOf(req)),
      when,
      left: timeLeft(c.dueAt, t),
      action: (a: string) => actionLabel(a, t),
      logDetail: (l: CaseDetail['log'][number]) => logDetail(l, langOf(req)),
      // The index's elements by name (overview.ts); another code as it is.
      element: (code: string) =>
        (ELEMENTS as readonly string[]).includes(code) ? t(`element.${code}`) : code,
    },
  });
}

/**
 * Phản ánh: the inbox of open cases by due time (overdue marked), and a case page with its
 * ratings and reasons, dossier, time left, log, and the forms to assign, note, message the
 * citizen and close. Every read and write is the API's (routes/cases.ts, dossiers.ts).
 */
export function casePages(app: FastifyInstance): void {
  app.get(
    '/admin/cases',
    signedInPage<ListQuery>(async ({ me, api, req, reply, query }) => {
      const t = translator(langOf(req), cases, common);
      const status = ['open', 'in_progress', 'closed'].includes(query.status ?? '')
        ? query.status
        : undefined;
      const [list, unitName] = await Promise.all([
        api.get<CaseList>('/cases', {
          status,
          overdue: query.overdue === 'true' ? 'true' : undefined,
          assignedTo: query.mine === '1' ? me.user.username : undefined,
          cursor: query.cursor,
          limit: '50',
        }),
        readUnitNames(api),
      ]);
      const keep = new URLSearchParams();
      if (status) keep.set('status', status);
      if (query.overdue === 'true') keep.set('overdue', 'true');
      if (query.mine === '1') keep.set('mine', '1');
      if (list.nextCursor) keep.set('cursor', list.nextCursor);
      return sendPage(req, reply, 'cases', {
        title: 'cases.title',
        me,
        csrf: me.csrfToken,
        messages: [cases],
        data: {
          list,
          unitName,
          status: status ?? '',
          overdue: query.overdue === 'true',
          mine: query.mine === '1',
          next: list.nextCursor ? `/admin/cases?${keep.toString()}` : null,
          when,
          left: (due: string) => timeLeft(due, t),
        },
      });
    }),
  );

  app.get(
    '/admin/cases/:id',
    signedInPage<{ done?: string; text?: string }>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      return renderCase(ctx, id, { done: ctx.query.done, text: ctx.query.text === '1' });
    }),
  );

  /** One form post: call the API, then back to the case (or the case with the errors). */
  const action = (
    name: string,
    done: string,
    toBody: (f: Form) => { path: string; body: unknown; status: number },
  ) =>
    app.post(
      `/admin/cases/:id/${name}`,
      signedInPage<unknown, Form>(async (ctx) => {
        const { id } = ctx.req.params as { id: string };
        const form = ctx.body ?? {};
        const { path, body, status } = toBody(form);
        const r = await ctx.api.call<ApiErrorBody>('POST', `/cases/${enc(id)}/${path}`, { body });
        if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
        if (r.status !== status) {
          const lang = langOf(ctx.req);
          // Keyed by form, for two forms have a `text` field (note, message to the citizen).
          const errors: Record<string, string> = {};
          for (const [field, msg] of Object.entries(fieldErrors(r.body, lang)))
            errors[`${name}-${field}`] = msg;
          if (!Object.keys(errors).length) errors[`${name}-form`] = apiText(r.body?.message, lang);
          return renderCase(ctx, id, {
            errors,
            values: { ...form, form: name },
            status: r.status === 409 ? 409 : 422,
          });
        }
        return ctx.reply.redirect(`/admin/cases/${enc(id)}?done=${done}`, 303);
      }),
    );

  action('assign', 'assigned', (f) => ({
    path: 'assign',
    body: { username: (f.username ?? '').trim() },
    status: 200,
  }));
  action('note', 'noted', (f) => ({ path: 'notes', body: { text: f.text ?? '' }, status: 201 }));
  action('follow-up', 'followUp', (f) => ({
    path: 'follow-up',
    body: { text: f.message ?? '' },
    status: 200,
  }));
  action('close', 'closed', (f) => ({
    path: 'close',
    body: {
      ...(f.resolution === 'other' || !f.resolution
        ? { reason: f.reason ?? '' }
        : { resolution: f.resolution }),
      followUp: f.followUp === 'on',
    },
    status: 200,
  }));
}
