import { z } from 'zod';
import { checkRouteTable, RouteTableError } from '../../bot/http/api/register';
import { defineRoute, type ApiRoute } from '../../bot/http/api/route';
import { API_ROUTES } from '../../bot/http/api/routes';
import { CALLER_ROLES, can, PERMISSIONS, ROLE_PERMISSIONS } from '../../lib/auth/roles';

const base = {
  id: 'things.list',
  method: 'GET',
  path: '/things',
  summary: 'things',
  tag: 'things',
  auth: 'any',
  permission: 'indices:read',
  scope: { kind: 'list' },
  response: z.object({}),
  handler: async () => ({}),
} as const;

test('the table the server serves passes its own checks: every route has a unique id, a permission rule and a scope rule', () => {
  expect(() => checkRouteTable(API_ROUTES)).not.toThrow();
  for (const r of API_ROUTES) expect(['none', 'global', 'unit', 'object', 'list']).toContain(r.scope.kind);
});

test('a route without a scope rule is refused', () => {
  const { scope: _scope, ...noScope } = base;
  expect(() => checkRouteTable([noScope as unknown as ApiRoute])).toThrow(
    new RouteTableError('route things.list (GET /things): no scope rule'),
  );
});

test('a unit rule must name a field its schema has', () => {
  const r = defineRoute({
    ...base,
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({ unitCode: z.string() }),
  });
  expect(() => checkRouteTable([r])).toThrow(/its scope names query.unit, which its schema lacks/);
  const ok = defineRoute({
    ...base,
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({ unit: z.string() }),
  });
  expect(() => checkRouteTable([ok])).not.toThrow();
});

test('a public route may read no unit’s data; a route without a permission may only touch the caller’s own account', () => {
  expect(() => checkRouteTable([defineRoute({ ...base, auth: 'public', permission: null })])).toThrow(
    /public route/,
  );
  expect(() => checkRouteTable([defineRoute({ ...base, permission: null })])).toThrow(/without a permission/);
});

test('duplicate ids and duplicate method+path are refused', () => {
  const a = defineRoute(base);
  expect(() => checkRouteTable([a, defineRoute({ ...base, path: '/other' })])).toThrow(/duplicate id/);
  expect(() => checkRouteTable([a, defineRoute({ ...base, id: 'things.other' })])).toThrow(
    /duplicate method and path/,
  );
});

test('roles: admin has every permission; free text is a permission of its own that viewers and broadcasters lack', () => {
  expect([...ROLE_PERMISSIONS.admin].sort()).toEqual([...PERMISSIONS].sort());
  for (const role of CALLER_ROLES)
    expect(ROLE_PERMISSIONS[role].has('freeText:read')).toBe(
      role === 'admin' || role === 'district' || role === 'unit',
    );
  expect(can('district', 'users:manage')).toBe(false);
  expect(can('district', 'keys:manage')).toBe(false);
  expect(can('unit', 'broadcasts:approve')).toBe(true);
  expect(can('broadcaster', 'broadcasts:approve')).toBe(false);
  expect(can('broadcaster', 'broadcasts:write')).toBe(true);
  expect(can('viewer', 'indices:read')).toBe(true);
  expect(can('key', 'audit:read')).toBe(false);
  for (const role of CALLER_ROLES) expect(can(role, 'platforms:read')).toBe(role === 'admin');
});
