import { z } from 'zod';
import {
  DISABLED_LOGIN_MESSAGE,
  INVALID_LOGIN_MESSAGE,
  signIn,
  startSession,
} from '../../../../lib/auth/login';
import { MAX_PASSWORD_LENGTH } from '../../../../lib/auth/password';
import { PERMISSIONS, ROLE_PERMISSIONS } from '../../../../lib/auth/roles';
import type { LoginSession } from '../../../../lib/auth/sessions';
import { throttledMessage } from '../../../../lib/auth/throttle';
import { USER_ROLES } from '../../../../models/user';
import { ApiError, unauthorized } from '../errors';
import { clearSessionCookie, setSessionCookie } from '../session-cookie';
import { defineRoute } from '../route';
import { isoDate, noContent, unitCode } from '../schemas';

const meBody = z
  .object({
    user: z.object({
      id: z.string(),
      username: z.string(),
      role: z.enum(USER_ROLES),
      unitCodes: z.array(unitCode),
      permissions: z.array(z.enum(PERMISSIONS)),
    }),
    /** For the x-csrf-token header of state-changing requests. */
    csrfToken: z.string().describe('send it in x-csrf-token on every POST, PUT, PATCH and DELETE'),
    signedInAt: isoDate,
  })
  .meta({ id: 'Me' });

function me(session: LoginSession): z.output<typeof meBody> {
  return {
    user: { ...session.user, permissions: [...ROLE_PERMISSIONS[session.user.role]] },
    csrfToken: session.csrfToken,
    signedInAt: session.createdAt.toISOString(),
  };
}

const NONE = { kind: 'none', why: "the caller's own session" } as const;

export const authRoutes = [
  defineRoute({
    id: 'auth.login',
    method: 'POST',
    path: '/auth/login',
    tag: 'auth',
    summary: 'Đăng nhập / sign in: sets the session cookie',
    description:
      'Throttled per username and per client address (429 with Retry-After and the time to wait). ' +
      'No CSRF token yet: the request must be JSON, which a cross-site form cannot send.',
    auth: 'public',
    permission: null,
    scope: { kind: 'none', why: 'nobody is signed in yet' },
    csrf: false,
    body: z.object({
      username: z.string().min(1).max(64),
      password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
    }),
    response: meBody,
    errors: [401, 403, 429],
    handler: async ({ body, ip, reply, deps }) => {
      const result = await signIn(body.username, body.password, ip, deps);
      if (result.ok) {
        setSessionCookie(reply, deps.cookie, result.token);
        return me(result.session);
      }
      if (result.reason === 'throttled')
        throw new ApiError(429, 'too_many_attempts', throttledMessage(result.waitMs), undefined, {
          'retry-after': String(Math.ceil(result.waitMs / 1000)),
        });
      if (result.reason === 'disabled') throw new ApiError(403, 'account_disabled', DISABLED_LOGIN_MESSAGE);
      throw unauthorized(INVALID_LOGIN_MESSAGE);
    },
  }),

  defineRoute({
    id: 'auth.logout',
    method: 'POST',
    path: '/auth/logout',
    tag: 'auth',
    summary: 'Đăng xuất / sign out: ends this session',
    auth: 'user',
    permission: null,
    scope: NONE,
    status: 204,
    response: noContent,
    handler: async ({ req, reply, deps, audit, caller }) => {
      const token = req.cookies[deps.cookie.name];
      if (token) await deps.sessions.destroy(token);
      clearSessionCookie(reply, deps.cookie);
      await audit({
        action: 'auth.logout',
        targetType: 'user',
        targetId: caller.actor,
        details: { session: caller.session?.id ?? null },
      });
      return undefined;
    },
  }),

  defineRoute({
    id: 'auth.me',
    method: 'GET',
    path: '/auth/me',
    tag: 'auth',
    summary: 'Tài khoản đang đăng nhập / the signed-in account, its permissions and CSRF token',
    auth: 'user',
    permission: null,
    scope: NONE,
    response: meBody,
    handler: async ({ caller }) => me(caller.session!),
  }),

  defineRoute({
    id: 'auth.changePassword',
    method: 'POST',
    path: '/auth/change-password',
    tag: 'auth',
    summary: 'Đổi mật khẩu / change one’s password: ends every other session',
    description: 'Every session of the account ends; this client gets a new session cookie and CSRF token.',
    auth: 'user',
    permission: null,
    scope: NONE,
    body: z.object({
      currentPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
      newPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
    }),
    response: meBody,
    handler: async ({ body, caller, ip, reply, deps }) => {
      await deps.accounts.changeOwnPassword(caller.id, body.currentPassword, body.newPassword, ip);
      const fresh = await startSession(caller.id, deps.sessions);
      if (!fresh) throw unauthorized();
      setSessionCookie(reply, deps.cookie, fresh.token);
      return me(fresh.session);
    },
  }),
];
