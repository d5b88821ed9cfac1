import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKey } from '../models/api-key';
import { appendAudit } from './audit/writer';
import { decryptSecret, encryptSecret, parseSecretsKey } from './secret-box';
import { key as redisKey, type RedisClient } from './redis';

/**
 * Authentication of one-stop systems posting dossier events. Two ways, per key:
 *  - `Authorization: Bearer hl_<keyId>_<secret>`: looked up by SHA-256 of the whole key;
 *  - an HMAC-SHA256 signature of `<timestamp>.<raw body>` with the key's signing secret, in
 *    `X-Hailong-Key-Id`, `X-Hailong-Timestamp` (Unix seconds) and `X-Hailong-Signature: v1=<hex>`.
 *    A timestamp outside the window or a signature seen before (Redis, under the prefix) is refused.
 */
export const SIGNATURE_WINDOW_S = 300;
const KEY_RE = /^hl_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface AuthenticatedKey {
  keyId: string;
  name: string;
  unitCodes: string[];
}
export type AuthResult =
  { ok: true; key: AuthenticatedKey; via: 'bearer' | 'hmac' } | { ok: false; reason: string };

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

export interface CreatedApiKey {
  keyId: string;
  /** Shown once; only its hash is stored. */
  key: string;
  /** Shown once when requested; stored encrypted with SECRETS_KEY. */
  signingSecret: string | null;
}

export async function createApiKey(opts: {
  name: string;
  unitCodes?: string[];
  signing?: boolean;
  secretsKey?: string;
  /** SECRETS_KEY_PREVIOUS during a key rotation (lib/secret-box.ts). */
  secretsKeyPrevious?: string;
  /** Who creates it (audited): a username or "cli"; the request's address. */
  createdBy?: string;
  ip?: string | null;
}): Promise<CreatedApiKey> {
  const keyId = randomBytes(6).toString('hex');
  const key = `hl_${keyId}_${randomBytes(32).toString('base64url')}`;
  let signingSecret: string | null = null;
  let signingSecretEnc: string | null = null;
  if (opts.signing) {
    signingSecret = randomBytes(32).toString('base64url');
    signingSecretEnc = encryptSecret(
      parseSecretsKey(opts.secretsKey, opts.secretsKeyPrevious),
      signingSecret,
      `apikey:${keyId}`,
    );
  }
  await ApiKey.create({
    keyId,
    name: opts.name,
    keyHash: sha256Hex(key),
    unitCodes: opts.unitCodes ?? [],
    signingSecretEnc,
    createdBy: opts.createdBy ?? 'cli',
  });
  await appendAudit({
    actor: opts.createdBy ?? 'cli',
    ip: opts.ip ?? null,
    action: 'apikey.created',
    targetType: 'apikey',
    targetId: keyId,
    unitCode: opts.unitCodes?.[0] ?? null,
    details: { units: opts.unitCodes ?? [], hmac: signingSecret !== null },
  });
  return { keyId, key, signingSecret };
}

/** Revokes by key id (audited); true when a live key was revoked. */
export async function revokeApiKey(
  keyId: string,
  now = new Date(),
  by: { actor: string; ip?: string | null } = { actor: 'cli' },
): Promise<boolean> {
  const revoked = await ApiKey.findOneAndUpdate(
    { keyId, revokedAt: null },
    { $set: { revokedAt: now } },
    { returnDocument: 'after' },
  ).lean();
  if (!revoked) return false;
  await appendAudit({
    actor: by.actor,
    ip: by.ip ?? null,
    action: 'apikey.revoked',
    targetType: 'apikey',
    targetId: keyId,
    unitCode: revoked.unitCodes[0] ?? null,
    details: { units: revoked.unitCodes },
    at: now,
  });
  return true;
}

export interface AuthDeps {
  redis: RedisClient;
  prefix: string;
  secretsKey?: string;
  /** SECRETS_KEY_PREVIOUS during a key rotation (lib/secret-box.ts). */
  secretsKeyPrevious?: string;
  now?: () => Date;
}
type Headers = Record<string, string | string[] | undefined>;

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function authenticate(
  headers: Headers,
  rawBody: Buffer | undefined,
  deps: AuthDeps,
): Promise<AuthResult> {
  const now = (deps.now ?? (() => new Date()))();
  const auth = header(headers, 'authorization');
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m?.[1] || !KEY_RE.test(m[1])) return { ok: false, reason: 'malformed bearer key' };
    const doc = await ApiKey.findOne({ keyHash: sha256Hex(m[1]) }).lean();
    if (!doc) return { ok: false, reason: 'unknown key' };
    if (doc.revokedAt) return { ok: false, reason: 'key revoked' };
    await ApiKey.updateOne({ _id: doc._id }, { $set: { lastUsedAt: now } });
    return { ok: true, via: 'bearer', key: { keyId: doc.keyId, name: doc.name, unitCodes: doc.unitCodes } };
  }

  const keyId = header(headers, 'x-hailong-key-id');
  const ts = header(headers, 'x-hailong-timestamp');
  const sig = header(headers, 'x-hailong-signature');
  if (!keyId || !ts || !sig) return { ok: false, reason: 'missing credentials' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'malformed timestamp' };
  if (Math.abs(now.getTime() / 1000 - Number(ts)) > SIGNATURE_WINDOW_S)
    return { ok: false, reason: 'timestamp outside the window' };
  const sm = /^v1=([a-f0-9]{64})$/.exec(sig);
  if (!sm?.[1]) return { ok: false, reason: 'malformed signature' };
  const doc = await ApiKey.findOne({ keyId }).lean();
  if (!doc?.signingSecretEnc) return { ok: false, reason: 'unknown key' };
  if (doc.revokedAt) return { ok: false, reason: 'key revoked' };
  const secret = decryptSecret(
    parseSecretsKey(deps.secretsKey, deps.secretsKeyPrevious),
    doc.signingSecretEnc,
    `apikey:${keyId}`,
  );
  const expected = Buffer.from(signBody(secret, ts, rawBody ?? Buffer.alloc(0)), 'hex');
  const given = Buffer.from(sm[1], 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'bad signature' };
  // Replay refusal: a signature is accepted once within (twice) the window.
  const fresh = await deps.redis.set(
    redisKey(deps.prefix, 'apisig', sm[1]),
    '1',
    'EX',
    SIGNATURE_WINDOW_S * 2,
    'NX',
  );
  if (fresh !== 'OK') return { ok: false, reason: 'replayed request' };
  await ApiKey.updateOne({ _id: doc._id }, { $set: { lastUsedAt: now } });
  return { ok: true, via: 'hmac', key: { keyId: doc.keyId, name: doc.name, unitCodes: doc.unitCodes } };
}

/** What a client computes: hex HMAC-SHA256 of `<timestamp>.<raw body>`. */
export function signBody(secret: string, timestamp: string, rawBody: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest('hex');
}
