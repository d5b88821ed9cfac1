import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Tokens at rest: AES-256-GCM under SECRETS_KEY (32 bytes, hex or base64). The app id (or the
 * record's own id) is bound as associated data, so a ciphertext copied to another record does
 * not decrypt.
 *
 * Keys rotate without downtime through a key ring: SECRETS_KEY is the newest key, which seals
 * everything new; SECRETS_KEY_PREVIOUS (comma-separated) holds older keys, which still open
 * what they sealed until `hailong secrets rotate` has re-sealed it under the newest
 * (docs/operations.md, "Rotating SECRETS_KEY").
 * Format: "v2." + key id + "." + base64url(iv[12] | tag[16] | ciphertext), the key id being the
 * first 8 hex digits of a SHA-256 of the key (names the key, reveals nothing of it). "v1." (no
 * key id, written before key rings) is opened by trying each key of the ring.
 */
export interface SecretKeyRing {
  /** The id of the newest key, which seals. */
  readonly currentId: string;
  /** Every key by id, newest first. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

function parseOne(name: string, raw: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error(`${name}: expected 32 bytes as 64 hex characters or base64`);
  return key;
}

export function secretKeyId(key: Buffer): string {
  return createHash('sha256').update('hailong secret-box key id\0').update(key).digest('hex').slice(0, 8);
}

/** The ring of SECRETS_KEY (newest) and SECRETS_KEY_PREVIOUS (older keys, comma-separated). */
export function parseSecretsKey(raw: string | undefined, previous?: string): SecretKeyRing {
  if (!raw) throw new Error('SECRETS_KEY is not set: it is required to store Zalo tokens');
  const current = parseOne('SECRETS_KEY', raw);
  const keys = new Map<string, Buffer>([[secretKeyId(current), current]]);
  for (const [i, part] of (previous ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .entries()) {
    const key = parseOne(`SECRETS_KEY_PREVIOUS (key ${i + 1})`, part);
    keys.set(secretKeyId(key), key);
  }
  return { currentId: secretKeyId(current), keys };
}

/** The ring of an environment, or null when it sets no SECRETS_KEY. */
export function secretsKeyRingOf(env: {
  SECRETS_KEY?: string | undefined;
  SECRETS_KEY_PREVIOUS?: string | undefined;
}): SecretKeyRing | null {
  return env.SECRETS_KEY ? parseSecretsKey(env.SECRETS_KEY, env.SECRETS_KEY_PREVIOUS) : null;
}

export function encryptSecret(ring: SecretKeyRing, plain: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.keys.get(ring.currentId)!, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v2.${ring.currentId}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

function open(key: Buffer, raw: Buffer, aad: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

export function decryptSecret(ring: SecretKeyRing, sealed: string, aad: string): string {
  const v2 = /^v2\.([0-9a-f]{8})\.(.*)$/s.exec(sealed);
  const body = v2 ? v2[2]! : sealed.startsWith('v1.') ? sealed.slice(3) : null;
  if (body === null) throw new Error('unknown secret format');
  const raw = Buffer.from(body, 'base64url');
  if (raw.length < 28) throw new Error('secret too short');
  if (v2) {
    const key = ring.keys.get(v2[1]!);
    if (!key)
      throw new Error(
        `secret sealed with key ${v2[1]}, which is neither SECRETS_KEY nor in SECRETS_KEY_PREVIOUS`,
      );
    return open(key, raw, aad);
  }
  let last: unknown = null;
  for (const key of ring.keys.values()) {
    try {
      return open(key, raw, aad);
    } catch (err) {
      last = err;
    }
  }
  throw last as Error;
}

/** Whether `sealed` is not yet under the ring's newest key (what `secrets rotate` re-seals). */
export function sealedWithOlderKey(ring: SecretKeyRing, sealed: string): boolean {
  return !sealed.startsWith(`v2.${ring.currentId}.`);
}

/** Opens with any key of the ring and seals again under the newest. */
export function resealSecret(ring: SecretKeyRing, sealed: string, aad: string): string {
  return encryptSecret(ring, decryptSecret(ring, sealed, aad), aad);
}
