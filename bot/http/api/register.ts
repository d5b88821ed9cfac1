import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../../lib/api-auth';
import { appendAudit } from '../../../lib/audit/writer';
import { callerCan, keyCaller, userCaller, type Caller } from '../../../lib/auth/caller';
import { Scope } from '../../../lib/auth/scope';
import { csrfMatches } from '../../../lib/auth/sessions';
import type { ApiDeps } from './deps';
import { ApiError, errorBody, forbidden, unauthorized } from './errors';
import { REPLIED, type ApiRoute } from './route';
import { clearSessionCookie } from './session-cookie';

export const API_PREFIX = '/api/v1';
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The /api/v1 caller, set by the route's onRequest hook (null on public routes). */
    apiCaller: Caller | null;
  }
}

/** A route table that cannot be served: refused at start-up, before any request. */
export class RouteTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteTableError';
  }
}

/** A handler of a unit, object or list route answered without asking its scope: our bug. */
export class ScopeNotConsultedError extends Error {
  constructor(readonly routeId: string) {
    super(`route ${routeId} answered without consulting the caller's scope`);
    this.name = 'ScopeNotConsultedError';
  }
}

const SCOPE_KINDS = new Set(['none', 'global', 'unit', 'object', 'list']);

/** Checks the whole table: unique ids and paths, a scope rule on every route, and rules that fit. */
export function checkRouteTable(routes: readonly ApiRoute[]): void {
  const ids = new Set<string>();
  const paths = new Set<string>();
  for (const r of routes) {
    const where = `route ${r.id ?? '(no id)'} (${r.method} ${r.path})`;
    if (!r.id || ids.has(r.id)) throw new RouteTableError(`${where}: missing or duplicate id`);
    ids.add(r.id);
    const mp = `${r.method} ${r.path}`;
    if (paths.has(mp)) throw new RouteTableError(`${where}: duplicate method and path`);
    paths.add(mp);
    const scope = r.scope as ApiRoute['scope'] | undefined;
    if (!scope || !SCOPE_KINDS.has(scope.kind)) throw new RouteTableError(`${where}: no scope rule`);
    if (r.auth === 'public' && (scope.kind !== 'none' || r.permission !== null))
      throw new RouteTableError(`${where}: a public route reads no unit's data and needs no permission`);
    if (r.auth !== 'public' && r.permission === null && scope.kind !== 'none')
      throw new RouteTableError(
        `${where}: a route without a permission may only touch the caller's own account`,
      );
    if (scope.kind === 'unit') {
      const schema = scope.in === 'query' ? r.query : scope.in === 'params' ? r.params : r.body;
      if (!(schema instanceof z.ZodObject) || !(scope.field in schema.shape))
        throw new RouteTableError(
          `${where}: its scope names ${scope.in}.${scope.field}, which its schema lacks`,
        );
    }
  }
}

/** The error statuses a route can answer, documented with the one error shape. */
function errorResponses(r: ApiRoute): Record<number, z.ZodType> {
  const codes = new Set<number>([500]);
  if (r.auth !== 'public') [401, 403].forEach((c) => codes.add(c));
  if (r.scope.kind === 'unit' || r.scope.kind === 'object' || r.params) codes.add(404);
  if (r.params || r.query || r.body) codes.add(422);
  if (r.method !== 'GET' || r.body) [400, 413, 415].forEach((c) => codes.add(c));
  (r.errors ?? []).forEach((c) => codes.add(c));
  return Object.fromEntries([...codes].map((c) => [c, errorBody]));
}

function security(r: ApiRoute): Array<Record<string, string[]>> {
  if (r.auth === 'public') return [];
  const session: Record<string, string[]> = STATE_CHANGING.has(r.method)
    ? { session: [], csrf: [] }
    : { session: [] };
  return r.auth === 'any' ? [session, { bearer: [] }] : [session];
}

function describe(r: ApiRoute): string {
  const scope =
    r.scope.kind === 'unit'
      ? `the unit in ${r.scope.in}.${r.scope.field} (404 outside the caller's units)`
      : r.scope.kind === 'object'
        ? "the object's unit (404 outside the caller's units)"
        : r.scope.kind === 'list'
          ? "only the caller's units are listed"
          : `${r.scope.kind}: ${r.scope.why}`;
  const who =
    r.auth === 'public'
      ? 'anyone'
      : r.auth === 'user'
        ? 'a signed-in official'
        : 'a signed-in official or an API key';
  return [r.description, `Caller: ${who}. Permission: ${r.permission ?? '(none)'}. Scope: ${scope}.`]
    .filter(Boolean)
    .join('\n\n');
}

/** Authenticates the caller of a non-public route: the Bearer key first, else the session cookie. */
async function resolveCaller(
  req: FastifyRequest,
  reply: FastifyReply,
  r: ApiRoute,
  deps: ApiDeps,
): Promise<Caller> {
  if (req.headers.authorization !== undefined) {
    const auth = await authenticate(req.headers, undefined, {
      redis: deps.ctx.redis,
      prefix: deps.ctx.prefix,
      ...(deps.ctx.env.SECRETS_KEY ? { secretsKey: deps.ctx.env.SECRETS_KEY } : {}),
      ...(deps.ctx.env.SECRETS_KEY_PREVIOUS ? { secretsKeyPrevious: deps.ctx.env.SECRETS_KEY_PREVIOUS } : {}),
    });
    if (!auth.ok) throw unauthorized(`Khoá API bị từ chối. / API key refused: ${auth.reason}.`);
    if (r.auth === 'user')
      throw forbidden('Chỉ dành cho cán bộ đã đăng nhập. / For signed-in officials only, not API keys.');
    return keyCaller(auth.key);
  }
  const token = req.cookies[deps.cookie.name];
  const session = token ? await deps.sessions.resolve(token) : null;
  if (!session) {
    // A stale cookie is cleared so the console asks for a new sign-in.
    if (token) clearSessionCookie(reply, deps.cookie);
    throw unauthorized();
  }
  // Browsers send cookies by themselves: a state-changing request must also prove it comes from
  // our own page, which alone can read the token (from sign-in or /auth/me).
  if (STATE_CHANGING.has(r.method) && r.csrf !== false) {
    const header = req.headers['x-csrf-token'];
    if (!csrfMatches(session, Array.isArray(header) ? header[0] : header))
      throw new ApiError(
        403,
        'csrf_failed',
        'Thiếu hoặc sai mã chống giả mạo (x-csrf-token). / Missing or wrong x-csrf-token.',
      );
  }
  return userCaller(session);
}

/** Registers one route of the table on the API's fastify context. */
export function registerRoute(app: FastifyInstance, r: ApiRoute, deps: ApiDeps): void {
  app.route({
    method: r.method,
    url: API_PREFIX + r.path,
    schema: {
      operationId: r.id,
      summary: r.summary,
      description: describe(r),
      tags: [r.tag],
      security: security(r),
      ...(r.params ? { params: r.params } : {}),
      ...(r.query ? { querystring: r.query } : {}),
      ...(r.body ? { body: r.body } : {}),
      response: {
        [r.status ?? 200]: r.produces
          ? { description: r.summary, content: { [r.produces]: { schema: r.response } } }
          : r.response,
        ...errorResponses(r),
      },
      'x-permission': r.permission ?? 'none',
      'x-scope': r.scope.kind,
    },
    // Who and whether, before the request is even parsed: a stranger learns nothing of the schema.
    onRequest: async (req, reply) => {
      req.apiCaller = null;
      if (r.auth === 'public') return;
      const caller = await resolveCaller(req, reply, r, deps);
      if (r.permission && !callerCan(caller, r.permission)) throw forbidden();
      req.apiCaller = caller;
    },
    handler: async (req, reply) => {
      const caller = req.apiCaller;
      // Public routes read no unit's data: their scope holds no unit.
      const scope = caller?.scope ?? new Scope([]);
      let unit: string | null = null;
      if (r.scope.kind === 'unit') {
        const source = (
          r.scope.in === 'query' ? req.query : r.scope.in === 'params' ? req.params : req.body
        ) as Record<string, unknown>;
        const value = source?.[r.scope.field];
        unit = typeof value === 'string' ? value : null;
        if (unit !== null) await scope.require(unit);
      }
      const out = await r.handler({
        params: req.params,
        query: req.query,
        body: req.body,
        caller,
        scope,
        unit,
        ip: req.ip,
        audit: async (entry) => {
          await appendAudit({ ...entry, actor: caller?.actor ?? 'anonymous', ip: req.ip });
        },
        req,
        reply,
        deps,
      });
      // A unit rule without the unit in the request (an optional filter) reads like a list.
      if (r.scope.kind !== 'none' && r.scope.kind !== 'global' && !scope.consulted)
        throw new ScopeNotConsultedError(r.id);
      if (out === REPLIED) return reply;
      void reply.status(r.status ?? 200);
      if (r.produces) void reply.type(r.produces);
      return r.status === 204 ? reply.send() : reply.send(out);
    },
  });
}
