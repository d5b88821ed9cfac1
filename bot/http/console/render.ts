import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assetUrl } from './assets';
import { formatFor, langOf, translator, type Format, type Lang, type Messages, type Translate } from './i18n';
import { common } from './messages/common';
import { navFor, type Me, type NavItem } from './nav';
import { securityHeaders } from './security';

/** The templates, in the source tree (the image copies bot/: compiled code finds them there too). */
const VIEWS = [
  join(__dirname, 'views'),
  join(__dirname, '..', '..', '..', '..', 'bot', 'http', 'console', 'views'),
].find((d) => existsSync(join(d, 'layout.eta')));
if (!VIEWS) throw new Error('console views not found');

/** `<%= %>` escapes (autoEscape); `<%~ %>` writes raw and is only for markup we built. */
const eta = new Eta({
  views: VIEWS,
  autoEscape: true,
  cache: process.env.NODE_ENV === 'production',
  useWith: false,
});

/** What every template gets as `it`, beside its own data. */
export interface ViewBase {
  lang: Lang;
  t: Translate;
  fmt: Format;
  /** The signed-in person (null on the sign-in page). */
  me: Me | null;
  nav: NavItem[];
  /** The session's CSRF token for forms (`<input type="hidden" name="_csrf">`) and htmx (hx-headers). */
  csrf: string | null;
  /** The path and query of this page (the language switch and a sign-in come back to it). */
  here: string;
  title: string;
  asset: (name: string) => string;
  /** Extra script files of the page (from /admin/assets), after htmx and console.js. */
  scripts: string[];
}

export interface RenderInput {
  title: string;
  me?: Me | null;
  csrf?: string | null;
  /** The page's own dictionaries, looked up before the common one. */
  messages?: Messages[];
  scripts?: string[];
  status?: number;
}

export function viewBase(req: FastifyRequest, input: RenderInput): ViewBase {
  const lang = langOf(req);
  const t = translator(lang, ...(input.messages ?? []), common);
  const me = input.me ?? null;
  return {
    lang,
    t,
    fmt: formatFor(lang),
    me,
    nav: me ? navFor(me, req.url) : [],
    csrf: input.csrf ?? null,
    here: req.url,
    title: input.title,
    asset: assetUrl,
    scripts: input.scripts ?? [],
  };
}

/**
 * Renders a view in the layout (or, for an htmx request with `fragment`, the fragment alone)
 * and sends it with the console's security headers. `title` is a message key.
 */
export function sendPage(
  req: FastifyRequest,
  reply: FastifyReply,
  view: string,
  input: RenderInput & { data?: Record<string, unknown>; fragment?: string },
): FastifyReply {
  const base = viewBase(req, input);
  const it = { ...base, title: base.t(input.title), ...(input.data ?? {}) };
  const htmx = req.headers['hx-request'] === 'true' && input.fragment;
  const html = htmx ? eta.render(`./${input.fragment}`, it) : eta.render(`./${view}`, it);
  securityHeaders(reply);
  return reply
    .status(input.status ?? 200)
    .header('cache-control', 'no-store')
    .header('vary', 'HX-Request, Cookie')
    .type('text/html; charset=utf-8')
    .send(html);
}
