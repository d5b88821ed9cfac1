import { Algorithm, hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

export const MIN_PASSWORD_LENGTH = 12;
/** argon2 hashes what it is given; a limit keeps a huge "password" from being a cheap DoS. */
export const MAX_PASSWORD_LENGTH = 256;

/**
 * argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): slow enough for a stolen
 * hash list and fast enough for a sign-in.
 */
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** A password the policy refuses, with the reason in Vietnamese first (an official reads it). */
export class PasswordPolicyError extends Error {
  constructor(
    readonly reason: 'too_short' | 'too_long' | 'common' | 'contains_username',
    message: string,
  ) {
    super(message);
    this.name = 'PasswordPolicyError';
  }
}

let common: ReadonlySet<string> | null = null;
/**
 * zxcvbn-ts's list of the ~49,000 passwords most found in breaches (@zxcvbn-ts/language-common,
 * the maintained TypeScript port of Dropbox's zxcvbn): shipped through npm, no download at run
 * time, loaded on first use.
 */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/**
 * NIST SP 800-63B's rules: at least 12 characters, and not a known common password. "Common"
 * also catches a listed password padded with digits or symbols to reach the length
 * ("password1234", "qwertyuiop!!"), and the username or the product's name inside it.
 */
export function checkPasswordPolicy(password: string, username?: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH)
    throw new PasswordPolicyError(
      'too_short',
      `Mật khẩu phải có ít nhất ${MIN_PASSWORD_LENGTH} ký tự. / The password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  if (length > MAX_PASSWORD_LENGTH)
    throw new PasswordPolicyError(
      'too_long',
      `Mật khẩu dài quá ${MAX_PASSWORD_LENGTH} ký tự. / The password is longer than ${MAX_PASSWORD_LENGTH} characters.`,
    );
  const lower = password.toLowerCase();
  const stem = lower.replace(/[\p{N}\p{P}\p{S}\s]+$/u, '');
  if (
    commonPasswords().has(lower) ||
    (stem.length >= 4 && commonPasswords().has(stem)) ||
    /hai ?long|hài ?lòng/u.test(lower)
  )
    throw new PasswordPolicyError(
      'common',
      'Mật khẩu này quá phổ biến, dễ bị đoán. Ông/Bà vui lòng chọn mật khẩu khác. / This password is too common.',
    );
  if (username && username.length >= 3 && lower.includes(username.toLowerCase()))
    throw new PasswordPolicyError(
      'contains_username',
      'Mật khẩu không được chứa tên đăng nhập. / The password must not contain the username.',
    );
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash is a refusal, not a crash of the sign-in.
    return false;
  }
}

let dummy: Promise<string> | null = null;
/**
 * Spends the time of a real check when the username is unknown, so the answer's delay does not
 * tell which usernames exist.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('not a real password, only its cost');
  await verifyPassword(await dummy, password);
  return false;
}
