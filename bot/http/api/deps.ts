import type { AppContext } from '../../../lib/app-context';
import { Accounts } from '../../../lib/auth/accounts';
import { SessionStore } from '../../../lib/auth/sessions';
import { LoginThrottle } from '../../../lib/auth/throttle';
import { MonthCache } from '../../../indices/month-cache';
import { monthEpochKey } from '../../../workers/aggregation/rollups/epochs';

/**
 * The session cookie: httpOnly, SameSite=Strict, Path=/, no Max-Age (it ends with the browser,
 * which suits the shared computers of a one-stop shop); `__Host-` prefixed and Secure when
 * PUBLIC_URL is https.
 */
export interface SessionCookie {
  name: string;
  secure: boolean;
}

/** What the API's handlers share; built once by apiPlugin. */
export interface ApiDeps {
  ctx: AppContext;
  sessions: SessionStore;
  throttle: LoginThrottle;
  accounts: Accounts;
  cookie: SessionCookie;
  /** The month documents the figures' routes keep between requests, checked against the month epochs. */
  monthCache: MonthCache;
}

export function buildApiDeps(ctx: AppContext): ApiDeps {
  const { env } = ctx;
  const sessions = new SessionStore(ctx.redis, ctx.prefix, {
    idleMs: env.AUTH_SESSION_IDLE_MIN * 60_000,
    maxMs: env.AUTH_SESSION_MAX_H * 3_600_000,
  });
  const secure = new URL(env.PUBLIC_URL).protocol === 'https:';
  return {
    ctx,
    sessions,
    throttle: new LoginThrottle(ctx.redis, ctx.prefix, {
      maxFailsPerUser: env.AUTH_LOGIN_MAX_FAILS_PER_USER,
      maxFailsPerIp: env.AUTH_LOGIN_MAX_FAILS_PER_IP,
      windowS: env.AUTH_LOGIN_WINDOW_MIN * 60,
    }),
    accounts: new Accounts(sessions),
    cookie: { name: secure ? '__Host-hl_session' : 'hl_session', secure },
    monthCache: new MonthCache(ctx.redis, (unitCode, month) => monthEpochKey(ctx.prefix, unitCode, month)),
  };
}
