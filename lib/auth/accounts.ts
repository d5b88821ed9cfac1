import { Unit } from '../../models/unit';
import { User, USER_ROLES, USERNAME_RE, type UserDoc, type UserRole } from '../../models/user';
import { appendAudit } from '../audit/writer';
import { isDuplicateKey } from '../mongo';
import { checkPasswordPolicy, hashPassword, PasswordPolicyError, verifyPassword } from './password';
import { roleNeedsUnits } from './roles';
import type { SessionStore } from './sessions';

/** Who makes a change, for the audit log: a username or "cli", and the request's address. */
export interface Actor {
  actor: string;
  ip?: string | null;
}

/** Input an admin can correct; `field` is the path of the offending field (422 details). */
export class AccountInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccountInputError';
  }
}
export class UsernameTakenError extends Error {
  constructor(readonly username: string) {
    super(`Tên đăng nhập "${username}" đã có. / The username "${username}" is taken.`);
    this.name = 'UsernameTakenError';
  }
}
export class UserNotFoundError extends Error {
  constructor(readonly username: string) {
    super(`Không có tài khoản "${username}". / No account "${username}".`);
    this.name = 'UserNotFoundError';
  }
}

/** An account as the CLI and the API show it: never its password hash. */
export interface UserView {
  id: string;
  username: string;
  role: UserRole;
  unitCodes: string[];
  disabled: boolean;
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  passwordChangedAt: Date;
  createdAt: Date;
  createdBy: string;
}

type StoredUser = UserDoc & { _id: { toString(): string }; createdAt?: Date };

export function userView(u: StoredUser): UserView {
  return {
    id: u._id.toString(),
    username: u.username,
    role: u.role,
    unitCodes: [...u.unitCodes],
    disabled: u.disabledAt !== null && u.disabledAt !== undefined,
    disabledAt: u.disabledAt ?? null,
    lastLoginAt: u.lastLoginAt ?? null,
    passwordChangedAt: u.passwordChangedAt,
    createdAt: u.createdAt ?? u.passwordChangedAt,
    createdBy: u.createdBy,
  };
}

function checkPassword(password: string, username: string, field: string): void {
  try {
    checkPasswordPolicy(password, username);
  } catch (err) {
    if (err instanceof PasswordPolicyError) throw new AccountInputError(field, err.message);
    throw err;
  }
}

async function checkRoleUnits(role: UserRole, unitCodes: readonly string[]): Promise<void> {
  if (!USER_ROLES.includes(role)) throw new AccountInputError('role', `unknown role "${String(role)}"`);
  if (!roleNeedsUnits(role) && unitCodes.length > 0)
    throw new AccountInputError(
      'unitCodes',
      'Quản trị viên thấy mọi đơn vị: không gán đơn vị. / An admin sees every unit: give no unit.',
    );
  if (roleNeedsUnits(role) && unitCodes.length === 0)
    throw new AccountInputError(
      'unitCodes',
      `Vai trò ${role} cần ít nhất một đơn vị. / The ${role} role needs at least one unit.`,
    );
  const known = await Unit.find({ code: { $in: [...unitCodes] } }, { code: 1 }).lean();
  const missing = unitCodes.filter((c) => !known.some((k) => k.code === c));
  if (missing.length > 0)
    throw new AccountInputError(
      'unitCodes',
      `Không có đơn vị: ${missing.join(', ')}. / Unknown unit code(s): ${missing.join(', ')}.`,
    );
}

/**
 * Officials' accounts: the one implementation behind `hailong user …` and /api/v1/users. Every
 * change is audited, and any change to what a session carries (role, units, password,
 * disabling) ends the account's sessions at once.
 */
export class Accounts {
  constructor(private readonly sessions: SessionStore) {}

  async create(
    input: { username: string; password: string; role: UserRole; unitCodes?: string[] },
    by: Actor,
  ): Promise<UserView> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME_RE.test(username))
      throw new AccountInputError(
        'username',
        'Tên đăng nhập: 3–64 ký tự a-z, 0-9, dấu chấm, gạch dưới, gạch ngang. / Username: 3-64 of a-z 0-9 . _ -',
      );
    const unitCodes = [...new Set(input.unitCodes ?? [])];
    await checkRoleUnits(input.role, unitCodes);
    checkPassword(input.password, username, 'password');
    const now = new Date();
    let doc;
    try {
      doc = await User.create({
        username,
        passwordHash: await hashPassword(input.password),
        role: input.role,
        unitCodes,
        passwordChangedAt: now,
        createdBy: by.actor,
      });
    } catch (err) {
      if (isDuplicateKey(err)) throw new UsernameTakenError(username);
      throw err;
    }
    await appendAudit({
      ...by,
      action: 'user.created',
      targetType: 'user',
      targetId: username,
      unitCode: unitCodes[0] ?? null,
      details: { role: input.role, units: unitCodes },
      at: now,
    });
    return userView(doc.toObject());
  }

  async list(filter: { role?: UserRole; unitCodes?: readonly string[] | null } = {}): Promise<UserView[]> {
    const q: Record<string, unknown> = {};
    if (filter.role) q.role = filter.role;
    if (filter.unitCodes) q.unitCodes = { $in: [...filter.unitCodes] };
    const docs = await User.find(q).sort({ username: 1 }).lean();
    return docs.map((d) => userView(d));
  }

  async get(username: string): Promise<UserView | null> {
    const doc = await User.findOne({ username: username.toLowerCase() }).lean();
    return doc ? userView(doc) : null;
  }

  /** Changes the role, the units or the disabled state; each ends the account's sessions. */
  async update(
    username: string,
    patch: { role?: UserRole; unitCodes?: string[]; disabled?: boolean },
    by: Actor,
  ): Promise<UserView> {
    const current = await User.findOne({ username: username.toLowerCase() }).lean();
    if (!current) throw new UserNotFoundError(username);
    const role = patch.role ?? current.role;
    const unitCodes = patch.unitCodes
      ? [...new Set(patch.unitCodes)]
      : roleNeedsUnits(role)
        ? current.unitCodes
        : [];
    if (patch.role !== undefined || patch.unitCodes !== undefined) await checkRoleUnits(role, unitCodes);
    const stillAdmin = role === 'admin' && patch.disabled !== true;
    if (current.role === 'admin' && !current.disabledAt && !stillAdmin) {
      const others = await User.countDocuments({
        role: 'admin',
        disabledAt: null,
        _id: { $ne: current._id },
      });
      if (others === 0)
        throw new AccountInputError(
          patch.disabled === true ? 'disabled' : 'role',
          'Phải còn ít nhất một quản trị viên đang hoạt động. / At least one active admin must remain.',
        );
    }
    const now = new Date();
    const disabledAt =
      patch.disabled === undefined
        ? (current.disabledAt ?? null)
        : patch.disabled
          ? (current.disabledAt ?? now)
          : null;
    const updated = await User.findOneAndUpdate(
      { _id: current._id },
      { $set: { role, unitCodes, disabledAt } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw new UserNotFoundError(username);
    await this.sessions.endAll(updated._id.toString());
    const changes: string[] = [];
    if (role !== current.role) changes.push('role');
    if (unitCodes.join(',') !== current.unitCodes.join(',')) changes.push('unitCodes');
    const wasDisabled = current.disabledAt !== null && current.disabledAt !== undefined;
    if (changes.length > 0)
      await appendAudit({
        ...by,
        action: 'user.updated',
        targetType: 'user',
        targetId: updated.username,
        unitCode: unitCodes[0] ?? null,
        details: { changed: changes, role, units: unitCodes },
        at: now,
      });
    if (patch.disabled !== undefined && patch.disabled !== wasDisabled)
      await appendAudit({
        ...by,
        action: patch.disabled ? 'user.disabled' : 'user.enabled',
        targetType: 'user',
        targetId: updated.username,
        unitCode: unitCodes[0] ?? null,
        at: now,
      });
    return userView(updated);
  }

  /** An admin sets a new password (the account's sessions end). */
  async resetPassword(username: string, password: string, by: Actor): Promise<UserView> {
    const name = username.toLowerCase();
    checkPassword(password, name, 'password');
    const now = new Date();
    const updated = await User.findOneAndUpdate(
      { username: name },
      { $set: { passwordHash: await hashPassword(password), passwordChangedAt: now } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw new UserNotFoundError(username);
    await this.sessions.endAll(updated._id.toString());
    await appendAudit({
      ...by,
      action: 'user.password_reset',
      targetType: 'user',
      targetId: updated.username,
      unitCode: updated.unitCodes[0] ?? null,
      at: now,
    });
    return userView(updated);
  }

  /**
   * The account's owner changes its password, giving the current one. Every session of the
   * account ends (the caller starts a new one for the client that asked).
   */
  async changeOwnPassword(
    userId: string,
    current: string,
    next: string,
    ip: string | null,
  ): Promise<UserView> {
    const doc = await User.findById(userId).lean();
    if (!doc || doc.disabledAt) throw new UserNotFoundError(userId);
    if (!(await verifyPassword(doc.passwordHash, current)))
      throw new AccountInputError(
        'currentPassword',
        'Mật khẩu hiện tại không đúng. / The current password is wrong.',
      );
    if (next === current)
      throw new AccountInputError(
        'newPassword',
        'Mật khẩu mới phải khác mật khẩu cũ. / The new password must differ from the old one.',
      );
    checkPassword(next, doc.username, 'newPassword');
    const now = new Date();
    const updated = await User.findOneAndUpdate(
      { _id: doc._id },
      { $set: { passwordHash: await hashPassword(next), passwordChangedAt: now } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) throw new UserNotFoundError(userId);
    await this.sessions.endAll(userId);
    await appendAudit({
      actor: doc.username,
      ip,
      action: 'user.password_changed',
      targetType: 'user',
      targetId: doc.username,
      unitCode: doc.unitCodes[0] ?? null,
      at: now,
    });
    return userView(updated);
  }
}
