import { z } from 'zod';
import type { UserView } from '../../../../lib/auth/accounts';
import { MAX_PASSWORD_LENGTH } from '../../../../lib/auth/password';
import type { Scope } from '../../../../lib/auth/scope';
import { USER_ROLES } from '../../../../models/user';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import { iso, isoDate, unitCode } from '../schemas';

const userBody = z
  .object({
    id: z.string(),
    username: z.string(),
    role: z.enum(USER_ROLES),
    unitCodes: z.array(unitCode),
    disabled: z.boolean(),
    disabledAt: isoDate.nullable(),
    lastLoginAt: isoDate.nullable(),
    passwordChangedAt: isoDate,
    createdAt: isoDate,
    createdBy: z.string(),
  })
  .meta({ id: 'User' });

const userOut = (u: UserView): z.output<typeof userBody> => ({
  ...u,
  disabledAt: iso(u.disabledAt),
  lastLoginAt: iso(u.lastLoginAt),
  passwordChangedAt: u.passwordChangedAt.toISOString(),
  createdAt: u.createdAt.toISOString(),
});

const password = z
  .string()
  .min(1)
  .max(MAX_PASSWORD_LENGTH)
  .describe('at least 12 characters, not a common password');
const byUsername = z.object({ username: z.string().min(1).max(64) });

/** An account is the caller's business when all its units are (an admin account: every-unit callers only). */
async function loadInScope(
  username: string,
  scope: Scope,
  get: (u: string) => Promise<UserView | null>,
): Promise<UserView> {
  const user = await get(username);
  if (!user || !(await scope.allowsAll(user.unitCodes))) throw notFound();
  return user;
}

const ADMIN = { auth: 'user', permission: 'users:manage', tag: 'users' } as const;

export const userRoutes = [
  defineRoute({
    ...ADMIN,
    id: 'users.list',
    method: 'GET',
    path: '/users',
    summary: 'Tài khoản / officials’ accounts',
    scope: { kind: 'list' },
    query: z.object({ role: z.enum(USER_ROLES).optional(), unit: unitCode.optional() }),
    response: z.object({ users: z.array(userBody) }),
    handler: async ({ query, scope, deps }) => {
      const all = await deps.accounts.list({
        ...(query.role ? { role: query.role } : {}),
        ...(query.unit ? { unitCodes: [query.unit] } : {}),
      });
      // Asked before the loop: with no account matching the scope is still consulted (else a 500).
      const everyUnit = (await scope.units()) === null;
      const visible: UserView[] = [];
      for (const u of all) if (everyUnit || (await scope.allowsAll(u.unitCodes))) visible.push(u);
      return { users: visible.map(userOut) };
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'users.create',
    method: 'POST',
    path: '/users',
    summary: 'Tạo tài khoản / create an account',
    scope: { kind: 'object' },
    status: 201,
    errors: [409],
    body: z.object({
      username: z.string().min(1).max(64),
      password,
      role: z.enum(USER_ROLES),
      unitCodes: z.array(unitCode).max(50).default([]),
    }),
    response: userBody,
    handler: async ({ body, scope, caller, ip, deps }) => {
      await scope.require(body.unitCodes);
      return userOut(await deps.accounts.create(body, { actor: caller.actor, ip }));
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'users.get',
    method: 'GET',
    path: '/users/:username',
    summary: 'Một tài khoản / one account',
    scope: { kind: 'object' },
    params: byUsername,
    response: userBody,
    handler: async ({ params, scope, deps }) =>
      userOut(await loadInScope(params.username, scope, (u) => deps.accounts.get(u))),
  }),

  defineRoute({
    ...ADMIN,
    id: 'users.update',
    method: 'PATCH',
    path: '/users/:username',
    summary:
      'Đổi vai trò, đơn vị, khoá/mở / change the role or units, disable or enable: ends the account’s sessions',
    scope: { kind: 'object' },
    params: byUsername,
    body: z
      .object({
        role: z.enum(USER_ROLES).optional(),
        unitCodes: z.array(unitCode).max(50).optional(),
        disabled: z.boolean().optional(),
      })
      .refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    response: userBody,
    handler: async ({ params, body, scope, caller, ip, deps }) => {
      await loadInScope(params.username, scope, (u) => deps.accounts.get(u));
      if (body.unitCodes) await scope.require(body.unitCodes);
      return userOut(await deps.accounts.update(params.username, body, { actor: caller.actor, ip }));
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'users.resetPassword',
    method: 'POST',
    path: '/users/:username/reset-password',
    summary: 'Đặt lại mật khẩu / set a new password: ends the account’s sessions',
    scope: { kind: 'object' },
    params: byUsername,
    body: z.object({ password }),
    response: userBody,
    handler: async ({ params, body, scope, caller, ip, deps }) => {
      await loadInScope(params.username, scope, (u) => deps.accounts.get(u));
      return userOut(
        await deps.accounts.resetPassword(params.username, body.password, { actor: caller.actor, ip }),
      );
    },
  }),
];
