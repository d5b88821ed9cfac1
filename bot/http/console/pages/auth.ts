import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiText, ConsoleApi, fieldErrors, forwardCookies, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import type { Me } from '../nav';
import { presentedCsrf, signedInPage, toSignIn } from '../page';
import { sendPage } from '../render';
import { safeNext } from '../security';

type LoginQuery = { next?: string; expired?: string; signedout?: string };
type Form = Record<string, string | undefined>;

function loginPage(
  req: FastifyRequest,
  reply: FastifyReply,
  data: { next: string; notice: string | null; error: string | null; username: string },
  status = 200,
): FastifyReply {
  return sendPage(req, reply, 'login', { title: 'login.title', status, data });
}

/** Sign in, sign out, change password: each one call of /api/v1/auth. */
export function authPages(app: FastifyInstance): void {
  app.get<{ Querystring: LoginQuery }>('/admin/login', async (req, reply) => {
    const next = safeNext(req.query.next);
    // Already signed in (another tab): straight on.
    const me = await new ConsoleApi(req).call<Me>('GET', '/auth/me');
    if (me.status === 200 && !req.query.expired) return reply.redirect(next, 303);
    const notice = req.query.expired ? 'login.expired' : req.query.signedout ? 'login.signedOut' : null;
    return loginPage(req, reply, { next, notice, error: null, username: '' });
  });

  app.post<{ Body: Form }>('/admin/login', async (req, reply) => {
    const body = req.body ?? {};
    const next = safeNext(body.next);
    const username = (body.username ?? '').trim();
    const r = await new ConsoleApi(req).call<Me | ApiErrorBody>('POST', '/auth/login', {
      body: { username, password: body.password ?? '' },
    });
    if (r.status === 200) {
      forwardCookies(r, reply);
      return reply.redirect(next, 303);
    }
    const err = r.body as ApiErrorBody | null;
    const status = r.status === 422 ? 400 : r.status;
    if (r.headers['retry-after']) void reply.header('retry-after', r.headers['retry-after']);
    const message = r.status === 422 ? 'login.failed' : null;
    return loginPage(
      req,
      reply,
      {
        next,
        notice: null,
        error: message ? translator(langOf(req), common)(message) : apiText(err?.message, langOf(req)),
        username,
      },
      status,
    );
  });

  app.post<{ Body: Form }>('/admin/logout', async (req, reply) => {
    const r = await new ConsoleApi(req, presentedCsrf(req)).call('POST', '/auth/logout');
    if (r.status === 401) return toSignIn(req, reply);
    if (r.status >= 400) return reply.status(r.status).send(r.body);
    forwardCookies(r, reply);
    return reply.redirect('/admin/login?signedout=1', 303);
  });

  app.get(
    '/admin/password',
    signedInPage(async ({ me, req, reply }) =>
      sendPage(req, reply, 'password', {
        title: 'password.title',
        me,
        csrf: me.csrfToken,
        data: { errors: {}, done: false },
      }),
    ),
  );

  app.post(
    '/admin/password',
    signedInPage<unknown, Form>(async ({ me, api, req, reply, body }) => {
      const lang = langOf(req);
      const show = (errors: Record<string, string>, status: number, done = false, csrf = me.csrfToken) =>
        sendPage(req, reply, 'password', {
          title: 'password.title',
          me,
          csrf,
          status,
          data: { errors, done },
        });
      if ((body.newPassword ?? '') !== (body.confirmPassword ?? ''))
        return show({ confirmPassword: translator(lang, common)('password.mismatch') }, 400);
      const r = await api.call<Me | ApiErrorBody>('POST', '/auth/change-password', {
        body: { currentPassword: body.currentPassword ?? '', newPassword: body.newPassword ?? '' },
      });
      if (r.status === 401) return toSignIn(req, reply);
      if (r.status === 200) {
        forwardCookies(r, reply);
        return show({}, 200, true, (r.body as Me).csrfToken);
      }
      const err = r.body as ApiErrorBody | null;
      const errors = fieldErrors(err, lang);
      if (Object.keys(errors).length === 0) errors.form = apiText(err?.message, lang);
      return show(errors, r.status === 422 ? 400 : r.status);
    }),
  );
}
