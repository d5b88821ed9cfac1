import { User } from '../../models/user';
import { appendAudit } from '../audit/writer';
import { verifyNothing, verifyPassword } from './password';
import type { LoginSession, SessionStore, SessionUser } from './sessions';
import type { LoginThrottle } from './throttle';

export type SignInResult =
  | { ok: true; token: string; session: LoginSession }
  | { ok: false; reason: 'invalid' | 'disabled' }
  | { ok: false; reason: 'throttled'; waitMs: number };

export interface SignInDeps {
  sessions: SessionStore;
  throttle: LoginThrottle;
}

export const INVALID_LOGIN_MESSAGE = 'Tên đăng nhập hoặc mật khẩu không đúng. / Wrong username or password.';
export const DISABLED_LOGIN_MESSAGE = 'Tài khoản này đã bị khoá. / This account is disabled.';

/**
 * A sign-in: throttled per username and per address, the password checked in constant work
 * whether or not the username exists, audited (failures too; an unknown username is recorded
 * without the name typed, which may be a password typed in the wrong field).
 */
export async function signIn(
  username: string,
  password: string,
  ip: string,
  deps: SignInDeps,
): Promise<SignInResult> {
  const name = username.trim().toLowerCase();
  const waitMs = await deps.throttle.waitMs(name, ip);
  if (waitMs > 0) return { ok: false, reason: 'throttled', waitMs };

  const doc = await User.findOne({ username: name }, { passwordHash: 1, username: 1 }).lean();
  const matches = doc ? await verifyPassword(doc.passwordHash, password) : await verifyNothing(password);
  // Read before the account's current state (below): a change stored after that read ends this
  // session too (lib/auth/sessions.ts).
  const generation = doc && matches ? await deps.sessions.generation(doc._id.toString()) : null;
  const user =
    doc && matches ? await User.findById(doc._id, { role: 1, unitCodes: 1, disabledAt: 1 }).lean() : null;
  if (!doc || !user || user.disabledAt) {
    const reason = !doc
      ? 'unknown_user'
      : !matches
        ? 'bad_password'
        : user?.disabledAt
          ? 'disabled'
          : 'account_gone';
    const lockedMs = await deps.throttle.failed(name, ip);
    await appendAudit({
      actor: doc ? doc.username : 'anonymous',
      ip,
      action: 'auth.login_failed',
      targetType: 'user',
      targetId: doc ? doc.username : '-',
      details: { reason, ...(lockedMs > 0 ? { lockedForS: Math.round(lockedMs / 1000) } : {}) },
    });
    if (lockedMs > 0) return { ok: false, reason: 'throttled', waitMs: lockedMs };
    return { ok: false, reason: reason === 'disabled' ? 'disabled' : 'invalid' };
  }

  await deps.throttle.succeeded(name);
  const sessionUser: SessionUser = {
    id: doc._id.toString(),
    username: doc.username,
    role: user.role,
    unitCodes: [...user.unitCodes],
  };
  const { token, session } = await deps.sessions.create(sessionUser, generation ?? '0');
  const now = new Date();
  await User.updateOne({ _id: doc._id }, { $set: { lastLoginAt: now } });
  await appendAudit({
    actor: doc.username,
    ip,
    action: 'auth.login',
    targetType: 'user',
    targetId: doc.username,
    unitCode: user.unitCodes[0] ?? null,
    details: { session: session.id },
    at: now,
  });
  return { ok: true, token, session };
}

/** A new session for the account, e.g. for the client that just changed its password. */
export async function startSession(
  userId: string,
  sessions: SessionStore,
): Promise<{ token: string; session: LoginSession } | null> {
  const generation = await sessions.generation(userId);
  const user = await User.findById(userId, { username: 1, role: 1, unitCodes: 1, disabledAt: 1 }).lean();
  if (!user || user.disabledAt) return null;
  return sessions.create(
    { id: userId, username: user.username, role: user.role, unitCodes: [...user.unitCodes] },
    generation,
  );
}
