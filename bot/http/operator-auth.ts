import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../lib/app-context';
import type { LoginSession } from '../../lib/auth/sessions';
import { buildApiDeps } from './api/deps';

export type OperatorAccess =
  { ok: true; via: 'token' | 'session' | 'open' } | { ok: false; status: 401 | 403; reason: string };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Equal in constant time: both sides hashed first, so neither length nor prefix leaks. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Who may read the operators' endpoints (GET /metrics, GET /healthz/detail) and open the queue
 * dashboard. The signed-in session of an admin (the API's session cookie) always; a bearer
 * METRICS_TOKEN for the endpoints Prometheus reads (`allowToken`); and nobody else, except that
 * with no METRICS_TOKEN set they are open outside production, or in production with
 * METRICS_OPEN=true (docs/observability.md).
 */
export function operatorAuth(ctx: AppContext) {
  const { sessions, cookie } = buildApiDeps(ctx);
  const { METRICS_TOKEN: token, METRICS_OPEN: open, NODE_ENV } = ctx.env;

  async function adminSession(req: FastifyRequest): Promise<LoginSession | 'none' | 'not_admin'> {
    const header = req.headers.cookie;
    const value = header ? fastifyCookie.parse(header)[cookie.name] : undefined;
    const session = value ? await sessions.resolve(value) : null;
    if (!session) return 'none';
    return session.user.role === 'admin' ? session : 'not_admin';
  }

  return {
    adminSession,
    async check(req: FastifyRequest, opts: { allowToken: boolean }): Promise<OperatorAccess> {
      const auth = req.headers.authorization;
      if (opts.allowToken && auth !== undefined) {
        const m = /^Bearer\s+(\S+)$/i.exec(auth);
        if (token && m?.[1] && tokenMatches(m[1], token)) return { ok: true, via: 'token' };
        return { ok: false, status: 401, reason: 'bearer token refused' };
      }
      const session = await adminSession(req);
      if (session === 'not_admin') return { ok: false, status: 403, reason: 'admins only' };
      if (session !== 'none') return { ok: true, via: 'session' };
      if (opts.allowToken && !token && (NODE_ENV !== 'production' || open)) return { ok: true, via: 'open' };
      return { ok: false, status: 401, reason: 'sign in as an admin or send the metrics token' };
    },
  };
}

export type OperatorAuth = ReturnType<typeof operatorAuth>;
