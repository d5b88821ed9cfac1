import type { FastifyReply } from 'fastify';
import type { SessionCookie } from './deps';

/** The same attributes for setting and clearing: a browser ignores a `__Host-` cookie cleared without Secure. */
function attributes(cookie: SessionCookie) {
  return { httpOnly: true, sameSite: 'strict', secure: cookie.secure, path: '/' } as const;
}

export function setSessionCookie(reply: FastifyReply, cookie: SessionCookie, token: string): void {
  void reply.setCookie(cookie.name, token, attributes(cookie));
}

export function clearSessionCookie(reply: FastifyReply, cookie: SessionCookie): void {
  void reply.clearCookie(cookie.name, attributes(cookie));
}
