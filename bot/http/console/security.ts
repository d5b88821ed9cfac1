import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers of every /admin answer. Scripts and styles only from this origin (htmx, Chart.js and
 * the console's own files are served from /admin/assets): no inline script, no inline style,
 * no eval; the console cannot be framed; no referrer leaves the site.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(reply: FastifyReply): void {
  void reply.headers({
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  });
}

/**
 * Whether a state-changing request comes from our own pages. The session cookie is
 * SameSite=Strict and every signed-in form carries the session's CSRF token (checked by the API
 * itself); this check adds the browser's word: an Origin of another site, or Sec-Fetch-Site
 * saying cross-site, is refused. It is what protects the sign-in form, which has no session yet.
 */
export function sameOrigin(req: FastifyRequest, publicUrl: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const allowed = new Set([new URL(publicUrl).origin, `${req.protocol}://${req.host}`]);
  return allowed.has(origin);
}

/** Where to go after signing in: only a console path, never another site (`//evil`, `/\evil`). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string') return '/admin';
  if (!/^\/admin(\/[A-Za-z0-9._~\-/]*)?(\?[A-Za-z0-9._~\-=&%+]*)?$/.test(next)) return '/admin';
  if (next.startsWith('/admin/login') || next.startsWith('/admin/logout')) return '/admin';
  return next;
}
