import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiRefused, ConsoleApi, SessionEnded } from './api';
import type { Me } from './nav';
import { sendPage } from './render';

/** What a signed-in page handler gets: the person, and the API as that person. */
export interface PageContext {
  me: Me;
  api: ConsoleApi;
  req: FastifyRequest;
  reply: FastifyReply;
}

function hadSessionCookie(req: FastifyRequest): boolean {
  return /(?:^|;\s*)(?:__Host-)?hl_session=/.test(req.headers.cookie ?? '');
}

/**
 * Sends the person to sign in, coming back to this page afterwards (a GET page: the page itself;
 * a form post or an htmx fragment: the page it was on, from the Referer's path). A cookie that
 * the API no longer accepts means the session ended: the sign-in page says so.
 */
export function toSignIn(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let back = req.url;
  if (req.method !== 'GET' || req.headers['hx-request'] === 'true') {
    const ref = req.headers['hx-current-url'] ?? req.headers.referer;
    try {
      const u = new URL(String(ref));
      back = u.pathname + u.search;
    } catch {
      back = '/admin';
    }
  }
  const q = new URLSearchParams({ next: back });
  if (hadSessionCookie(req)) q.set('expired', '1');
  const to = `/admin/login?${q.toString()}`;
  // htmx follows a redirect inside the fragment; HX-Redirect makes it load the whole page.
  if (req.headers['hx-request'] === 'true') return reply.status(200).header('hx-redirect', to).send('');
  return reply.redirect(to, 303);
}

/** The API refused what the page needed: its message, in a page of the layout. */
export function sendRefusal(
  ctx: { req: FastifyRequest; reply: FastifyReply; me: Me | null },
  err: ApiRefused,
): FastifyReply {
  const key = err.status === 403 ? 'error.forbidden' : err.status === 404 ? 'error.notFound' : null;
  return sendPage(ctx.req, ctx.reply, 'error', {
    title: 'error.title',
    me: ctx.me,
    csrf: ctx.me?.csrfToken ?? null,
    status: err.status,
    data: { messageKey: key, apiMessage: err.body?.message ?? null },
  });
}

/**
 * The CSRF token the request itself presents: the `_csrf` field of a form, or the x-csrf-token
 * header htmx sends (hx-headers on <body>). Never the session's own token from /auth/me: the API
 * checks the presented one, so a forged cross-site post fails there as a direct call would.
 */
export function presentedCsrf(req: FastifyRequest): string | null {
  const body = req.body as Record<string, unknown> | undefined;
  if (body && typeof body._csrf === 'string') return body._csrf;
  const h = req.headers['x-csrf-token'];
  return typeof h === 'string' ? h : null;
}

/**
 * A page for signed-in officials: asks the API who the caller is (GET /auth/me), then runs the
 * handler with an API client carrying the session. An ended session goes to sign-in and back;
 * a refusal of the API is shown as the API worded it.
 */
export function signedInPage<Q = Record<string, string | undefined>, B = Record<string, string | undefined>>(
  handler: (ctx: PageContext & { query: Q; body: B }) => Promise<FastifyReply>,
) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let me: Me | null = null;
    try {
      me = await new ConsoleApi(req).get<Me>('/auth/me');
      const api = new ConsoleApi(req, presentedCsrf(req));
      return await handler({ me, api, req, reply, query: req.query as Q, body: (req.body ?? {}) as B });
    } catch (err) {
      if (err instanceof SessionEnded) return toSignIn(req, reply);
      if (err instanceof ApiRefused) return sendRefusal({ req, reply, me }, err);
      throw err;
    }
  };
}
