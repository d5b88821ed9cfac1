import fastifyCookie from '@fastify/cookie';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../../lib/app-context';
import { assetRoutes } from './assets';
import { LANG_COOKIE } from './i18n';
import { CONSOLE_PAGES } from './pages';
import { sendPage } from './render';
import { safeNext, sameOrigin, securityHeaders } from './security';

export interface ConsolePluginOptions {
  ctx: AppContext;
}

/** The deps a page module gets (docs/console.md): the environment only; data comes from the API. */
export interface ConsoleDeps {
  publicUrl: string;
}

/**
 * The web console at /admin: pages rendered on the server (eta templates, htmx for partial
 * updates), reading and writing only through /api/v1 in-process (./api.ts), so it can do nothing
 * the person's role could not do by API. Encapsulated: its form parser, headers and error page
 * apply to /admin only. docs/console.md.
 */
export function consolePlugin(opts: ConsolePluginOptions): FastifyPluginAsync {
  const deps: ConsoleDeps = { publicUrl: opts.ctx.env.PUBLIC_URL };
  return async (app) => {
    await app.register(fastifyCookie);
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    app.addHook('onRequest', async (req, reply) => {
      securityHeaders(reply);
      if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req, deps.publicUrl))
        return sendPage(req, reply, 'error', {
          title: 'error.title',
          status: 403,
          data: { messageKey: 'error.origin', apiMessage: null },
        });
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'console page failed');
      return sendPage(req, reply, 'error', {
        title: 'error.title',
        status,
        data: {
          messageKey: null,
          apiMessage: status >= 500 ? 'Lỗi hệ thống. / Internal error.' : err.message,
        },
      });
    });

    assetRoutes(app);
    // A preference, not an action: a plain link works without a session and without script.
    app.get<{ Params: { lang: string }; Querystring: { next?: string } }>(
      '/admin/lang/:lang',
      async (req, reply) => {
        const lang = req.params.lang === 'en' ? 'en' : 'vi';
        void reply.setCookie(LANG_COOKIE, lang, {
          path: '/admin',
          sameSite: 'lax',
          httpOnly: true,
          maxAge: 31_536_000,
        });
        return reply.redirect(safeNext(req.query.next), 303);
      },
    );
    for (const page of CONSOLE_PAGES) page(app, deps);
  };
}
