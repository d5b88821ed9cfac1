import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Zalo webhook MAC (docs/platform-limits.md): `X-ZEvent-Signature: mac=<hex>` where hex is a plain SHA-256
 * (not an HMAC) of appId + raw body + timestamp + secret. The raw bytes are hashed as received:
 * re-serialising the parsed JSON would change them.
 */
export function zaloMac(appId: string, rawBody: Buffer, timestamp: string, secret: string): string {
  return createHash('sha256').update(appId, 'utf8').update(rawBody).update(timestamp, 'utf8').update(secret, 'utf8').digest('hex');
}

export function zaloSignatureHeader(appId: string, rawBody: Buffer, timestamp: string, secret: string): string {
  return `mac=${zaloMac(appId, rawBody, timestamp, secret)}`;
}

/** Constant-time check of a header value against the expected MAC; false for any malformed header. */
export function verifyZaloSignature(header: string | undefined, appId: string, rawBody: Buffer, timestamp: string, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(zaloSignatureHeader(appId, rawBody, timestamp, secret), 'utf8');
  const given = Buffer.from(header.trim().toLowerCase(), 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch reveals only the (public) format.
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
