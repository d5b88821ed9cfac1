import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AuditInput } from '../../../lib/audit/writer';
import type { Caller } from '../../../lib/auth/caller';
import type { Permission } from '../../../lib/auth/roles';
import type { Scope } from '../../../lib/auth/scope';
import type { ApiDeps } from './deps';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: `public` (no caller: sign-in, the OpenAPI document), `user` (a signed-in
 * official: the console's own routes) or `any` (an official or an API key).
 */
export type RouteAuth = 'public' | 'user' | 'any';

/**
 * How a route finds the unit it touches; every route must say (register.ts refuses one that
 * does not, and test/integration/api-matrix.test.ts tries each rule with every role):
 *  - `none`: the route reads or changes no unit's data (sign-in, the caller's own account);
 *  - `global`: data that belongs to no unit (the procedure catalogue), for every caller with the permission;
 *  - `unit`: a unit code in the request (query, path or body `field`), checked before the
 *    handler runs; outside the caller's units the answer is 404; the handler gets `unit` (null
 *    when the field is optional and absent: then the handler reads with the scope, as for a list);
 *  - `object`: the handler loads the object and calls `scope.require(object.unitCode)` (404 outside);
 *  - `list`: the handler reads with `scope.filter()` / `scope.units()`, so only the caller's units come back.
 * For `unit`, `object` and `list` a handler that answers without asking its scope is a bug: the
 * request fails with 500 (and the tests with it).
 */
export type ScopeRule =
  | { kind: 'none'; why: string }
  | { kind: 'global'; why: string }
  | { kind: 'unit'; in: 'query' | 'params' | 'body'; field: string }
  | { kind: 'object' }
  | { kind: 'list' };

type Schema = z.ZodType;
type Parsed<T> = T extends Schema ? z.output<T> : undefined;

/** Returned by a handler that answered through `reply` itself (a download stream, server-sent events). */
export const REPLIED: unique symbol = Symbol('replied');

export interface HandlerContext<P, Q, B, A extends RouteAuth> {
  params: P;
  query: Q;
  body: B;
  /** null only on public routes. */
  caller: A extends 'public' ? Caller | null : Caller;
  /** The caller's scope (every unit for none on public routes: they read no unit data). */
  scope: Scope;
  /** For a `unit` rule: the unit code of the request, already checked against the scope. */
  unit: string | null;
  /** The client's address (behind TRUST_PROXY). */
  ip: string;
  /** Appends to the audit log as this caller, from this address. */
  audit: (entry: Omit<AuditInput, 'actor' | 'ip'>) => Promise<void>;
  req: FastifyRequest;
  reply: FastifyReply;
  deps: ApiDeps;
}

export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  R extends Schema,
  A extends RouteAuth,
> {
  /** Unique, `resource.verb` (the OpenAPI operationId). */
  id: string;
  method: HttpMethod;
  /** Below /api/v1, fastify style: `/users/:username`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: A;
  /** What the caller's role must allow; null: any signed-in caller (the caller's own account). */
  permission: Permission | null;
  scope: ScopeRule;
  params?: P;
  query?: Q;
  body?: B;
  /** The success status (200 by default). */
  status?: 200 | 201 | 204;
  /** The success response: JSON by default, or the body of `produces` (e.g. text/csv). */
  response: R;
  produces?: string;
  /** Error statuses the route gives beyond those the framework documents (401, 403, 404, 422, 500), e.g. 409. */
  errors?: ReadonlyArray<401 | 403 | 409 | 429>;
  /** State-changing requests made with the session cookie need the CSRF header; only sign-in opts out. */
  csrf?: false;
  handler(c: HandlerContext<Parsed<P>, Parsed<Q>, Parsed<B>, A>): Promise<z.output<R> | typeof REPLIED>;
}

/** A route of the table, its types erased (they served the handler's definition). */
export interface ApiRoute {
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  permission: Permission | null;
  scope: ScopeRule;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  status?: 200 | 201 | 204;
  response: Schema;
  produces?: string;
  errors?: ReadonlyArray<401 | 403 | 409 | 429>;
  csrf?: false;
  handler(c: HandlerContext<unknown, unknown, unknown, RouteAuth>): Promise<unknown>;
}

/** Declares a route with its handler typed from its schemas. */
export function defineRoute<
  A extends RouteAuth,
  R extends Schema,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(spec: RouteSpec<P, Q, B, R, A>): ApiRoute {
  // The handler's parameter types come from the same schemas the framework validates with.
  return spec as unknown as ApiRoute;
}
