import type { FastifyReply } from 'fastify';

/**
 * The policy a response gets when its route sets none: nothing may load, nothing may frame it,
 * no form may post from it. Right for JSON, files and error bodies; a page that needs more
 * (the web chat, the public results, the API docs, the admin console) sets its own, stricter or
 * looser, and that one is kept as it is.
 */
export const DEFAULT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Whether a policy lets other sites frame the page (the public results' embed sets `frame-ancestors *`). */
function allowsFraming(csp: string): boolean {
  const directive = csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.toLowerCase().startsWith('frame-ancestors'));
  if (!directive) return false;
  return directive.slice('frame-ancestors'.length).trim().toLowerCase() !== "'none'";
}

/**
 * Sets the security headers on one response, leaving alone what its route already said:
 * a content security policy (DEFAULT_CSP when none), `X-Content-Type-Options: nosniff` (always),
 * `X-Frame-Options: DENY` unless the route's policy allows framing (legacy browsers read this
 * one, modern ones `frame-ancestors`), `Referrer-Policy: no-referrer` (survey tokens are in
 * URLs). Called from one onSend hook in bot/http/server.ts, so every route, error and 404 gets it.
 */
export function applySecurityHeaders(reply: FastifyReply): void {
  const own = reply.getHeader('content-security-policy');
  const csp = typeof own === 'string' && own.trim() !== '' ? own : DEFAULT_CSP;
  if (csp !== own) void reply.header('content-security-policy', csp);
  void reply.header('x-content-type-options', 'nosniff');
  if (!reply.hasHeader('x-frame-options') && !allowsFraming(csp))
    void reply.header('x-frame-options', 'DENY');
  if (!reply.hasHeader('referrer-policy')) void reply.header('referrer-policy', 'no-referrer');
}
