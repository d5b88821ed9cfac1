import { createCipheriv, randomBytes } from 'node:crypto';
import {
  decryptSecret,
  encryptSecret,
  parseSecretsKey,
  resealSecret,
  sealedWithOlderKey,
  secretKeyId,
} from '../../lib/secret-box';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const hex = (b: Buffer) => b.toString('hex');

/** A value as the code before key rings wrote it: "v1." and no key id. */
function sealV1(key: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
}

test('seals under the newest key with its id; opens what any key of the ring sealed', () => {
  const before = parseSecretsKey(hex(OLD));
  const during = parseSecretsKey(hex(NEW), hex(OLD));
  const old = encryptSecret(before, 'AT-cu', 'app1');
  expect(old.startsWith(`v2.${secretKeyId(OLD)}.`)).toBe(true);
  const fresh = encryptSecret(during, 'AT-moi', 'app1');
  expect(fresh.startsWith(`v2.${secretKeyId(NEW)}.`)).toBe(true);
  expect(decryptSecret(during, old, 'app1')).toBe('AT-cu');
  expect(decryptSecret(during, fresh, 'app1')).toBe('AT-moi');
  // Processes still on the old key alone cannot open the new value: roll out the ring first.
  expect(() => decryptSecret(before, fresh, 'app1')).toThrow(
    /neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS/,
  );
  expect(() => decryptSecret(during, old, 'app2')).toThrow();
});

test('values written before key rings (v1) open with any key of the ring and count as older', () => {
  const during = parseSecretsKey(hex(NEW), hex(OLD));
  const legacy = sealV1(OLD, 'RT-cu', 'app1');
  expect(decryptSecret(during, legacy, 'app1')).toBe('RT-cu');
  expect(sealedWithOlderKey(during, legacy)).toBe(true);
  const again = resealSecret(during, legacy, 'app1');
  expect(sealedWithOlderKey(during, again)).toBe(false);
  expect(decryptSecret(parseSecretsKey(hex(NEW)), again, 'app1')).toBe('RT-cu');
});

test('bad keys stop with the variable named', () => {
  expect(() => parseSecretsKey(undefined)).toThrow(/SECRETS_KEY is not set/);
  expect(() => parseSecretsKey('abcd')).toThrow(/^SECRETS_KEY: expected 32 bytes/);
  expect(() => parseSecretsKey(hex(NEW), `${hex(OLD)},short`)).toThrow(
    /SECRETS_KEY_PREVIOUS \(key 2\): expected 32 bytes/,
  );
  expect(parseSecretsKey(hex(NEW), ` ${hex(OLD)} , ${NEW.toString('base64')}`).keys.size).toBe(2);
});
