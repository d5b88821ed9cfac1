import type { AuthenticatedKey } from '../api-auth';
import { can, type CallerRole, type Permission } from './roles';
import { Scope } from './scope';
import type { LoginSession } from './sessions';

/**
 * Who is asking: a signed-in official (a session) or a machine (an API key). Built once per
 * request; its scope is the only way a handler learns which units it may read.
 */
export interface Caller {
  kind: 'user' | 'key';
  /** The user's id or the key's id. */
  id: string;
  /** How the audit log names it: the username, or `key:<keyId>`. */
  actor: string;
  role: CallerRole;
  /** The units it answers for, as given (empty: every unit for admins and unscoped keys). */
  unitCodes: readonly string[];
  scope: Scope;
  /** The session of an official; null for a key. */
  session: LoginSession | null;
}

export function userCaller(session: LoginSession): Caller {
  const { user } = session;
  return {
    kind: 'user',
    id: user.id,
    actor: user.username,
    role: user.role,
    unitCodes: user.unitCodes,
    // An admin sees every unit; any other role only its units (none when it has none).
    scope: new Scope(user.role === 'admin' ? null : user.unitCodes),
    session,
  };
}

export function keyCaller(key: AuthenticatedKey): Caller {
  return {
    kind: 'key',
    id: key.keyId,
    actor: `key:${key.keyId}`,
    role: 'key',
    unitCodes: key.unitCodes,
    // A key without units reads every unit, as it always has (lib/api-auth.ts).
    scope: new Scope(key.unitCodes.length === 0 ? null : key.unitCodes),
    session: null,
  };
}

export function callerCan(caller: Caller, permission: Permission): boolean {
  return can(caller.role, permission);
}
