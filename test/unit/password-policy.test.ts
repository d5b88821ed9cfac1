import {
  checkPasswordPolicy,
  hashPassword,
  PasswordPolicyError,
  verifyPassword,
} from '../../lib/auth/password';

function reason(password: string, username?: string): string | null {
  try {
    checkPasswordPolicy(password, username);
    return null;
  } catch (err) {
    if (err instanceof PasswordPolicyError) return err.reason;
    throw err;
  }
}

test('refuses passwords shorter than 12 characters, counting Vietnamese letters as one each', () => {
  expect(reason('ngắn quá 11')).toBe('too_short');
  expect(reason('Đường về quê')).toBeNull();
  expect(() => checkPasswordPolicy('short')).toThrow(/^Mật khẩu phải có ít nhất 12 ký tự\./);
});

test('refuses a common password, also padded with digits or symbols, and the product’s name', () => {
  expect(reason('qwertyuiop123')).toBe('common');
  expect(reason('1qaz2wsx3edc')).toBe('common');
  expect(reason('Password1234')).toBe('common');
  expect(reason('dragon!!!!!!')).toBe('common');
  expect(reason('hailong-2025-hue')).toBe('common');
  expect(reason('Hài Lòng mật khẩu')).toBe('common');
  expect(() => checkPasswordPolicy('qwertyuiop123')).toThrow(/^Mật khẩu này quá phổ biến/);
});

test('refuses a password that contains the username', () => {
  expect(reason('canbo.nguyen-2025!', 'canbo.nguyen')).toBe('contains_username');
  expect(reason('Sông Hương núi Ngự', 'canbo.nguyen')).toBeNull();
});

test('hashes with argon2id and verifies; a wrong password or a malformed hash is a refusal', async () => {
  const h = await hashPassword('Sông Hương núi Ngự');
  expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(await verifyPassword(h, 'Sông Hương núi Ngự')).toBe(true);
  expect(await verifyPassword(h, 'Sông Hương núi ngự')).toBe(false);
  expect(await verifyPassword('not a hash', 'x')).toBe(false);
});
