import { createHmac } from 'node:crypto';

/**
 * Vietnamese phone numbers in the E.164 form without "+" ("84" + national significant number),
 * and the keyed hash we store for matching (Law 91/2025/QH15: no plain number at rest).
 *
 * Accepted inputs: "0912 345 678", "+84 912-345-678", "84912345678", "0084912345678",
 * "(0234) 3 822 222" (landline), "+84 (0) 912 345 678" and "+84 0912345678" (the trunk 0 after the
 * country code), full-width digits. The national significant number is 9 digits for mobiles
 * (3x, 5x, 7x, 8x, 9x) and 9-10 digits for landlines (2xx area codes).
 */
export function normalisePhone(raw: string): string | null {
  // NFKC: full-width digits and plus sign (typed on some phone keyboards) become ASCII.
  const trimmed = raw.normalize('NFKC').trim();
  if (!/^[+\d\s().-]+$/.test(trimmed)) return null;
  let digits = trimmed.replace(/[^\d]/g, '');
  // "+84 (0) 912 345 678", "+84 0912 345 678": the national trunk 0 written after the country code.
  if (/^0?0?840[1-9]/.test(digits) && digits.replace(/^0{0,2}84/, '').length >= 10)
    digits = digits.replace(/^(0{0,2}84)0/, '$1');
  if (trimmed.startsWith('+')) {
    if (!digits.startsWith('84')) return null;
  } else if (digits.startsWith('0084')) {
    digits = digits.slice(2);
  } else if (digits.startsWith('0')) {
    digits = `84${digits.slice(1)}`;
  } else if (!digits.startsWith('84')) {
    // A bare 9-digit national number ("912345678"), as some spreadsheets drop the leading 0.
    if (digits.length === 9) digits = `84${digits}`;
    else return null;
  }
  const nsn = digits.slice(2);
  if (/^[35789]\d{8}$/.test(nsn)) return digits;
  if (/^2\d{8,9}$/.test(nsn)) return digits;
  return null;
}

/** HMAC-SHA256 of the normalised number under PHONE_HASH_KEY, hex. Same number, same hash. */
export function hashPhone(e164: string, key: string): string {
  return createHmac('sha256', key).update(e164, 'utf8').digest('hex');
}

/** Normalises then hashes; null when the number is not a Vietnamese phone number. */
export function phoneHashOf(raw: string, key: string): string | null {
  const e164 = normalisePhone(raw);
  return e164 === null ? null : hashPhone(e164, key);
}

/**
 * The keys a stored phone hash may be under: PHONE_HASH_KEY first, then the older keys of
 * PHONE_HASH_KEY_PREVIOUS (comma-separated) during a change of the key (docs/operations.md).
 */
export function phoneHashKeys(current: string, previous?: string): string[] {
  const older = (previous ?? '').split(',').map((k) => k.trim());
  return [...new Set([current, ...older].filter((k) => k.length > 0))];
}

/**
 * A short public name of a key, stored beside each hash it made so `hailong secrets phone-hashes`
 * can count the hashes still under an older key (an HMAC does not say which key made it). An HMAC
 * of a fixed label: it tells nothing about the key.
 */
export function phoneKeyId(key: string): string {
  return createHmac('sha256', key).update('hailong:phone-hash-key-id', 'utf8').digest('hex').slice(0, 12);
}

/** A number's hash under every key of the ring, the current key's first; [] for a bad number. */
export function phoneHashesOf(raw: string, keys: readonly string[]): string[] {
  const e164 = normalisePhone(raw);
  return e164 === null ? [] : keys.map((k) => hashPhone(e164, k));
}
