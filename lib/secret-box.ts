import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Tokens at rest: AES-256-GCM with SECRETS_KEY (32 bytes, hex or base64). The app id is bound
 * as associated data, so a ciphertext copied to another app's record does not decrypt.
 * Format: "v1." + base64url(iv[12] | tag[16] | ciphertext).
 */
export function parseSecretsKey(raw: string | undefined): Buffer {
  if (!raw) throw new Error('SECRETS_KEY is not set: it is required to store Zalo tokens');
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error('SECRETS_KEY: expected 32 bytes as 64 hex characters or base64');
  return key;
}

export function encryptSecret(key: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

export function decryptSecret(key: Buffer, sealed: string, aad: string): string {
  if (!sealed.startsWith('v1.')) throw new Error('unknown secret format');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  if (raw.length < 28) throw new Error('secret too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
