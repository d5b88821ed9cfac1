import { createHmac } from 'node:crypto';

/**
 * Vietnamese phone numbers in the E.164 form without "+" ("84" + national significant number),
 * and the keyed hash we store for matching (Law 91/2025/QH15: no plain number at rest).
 *
 * Accepted inputs: "0912 345 678", "+84 912-345-678", "84912345678", "0084912345678",
 * "(0234) 3 822 222" (landline). The national significant number is 9 digits for mobiles
 * (3x, 5x, 7x, 8x, 9x) and 9-10 digits for landlines (2xx area codes).
 */
export function normalisePhone(raw: string): string | null {
  const trimmed = raw.trim();
  if (!/^[+\d\s().-]+$/.test(trimmed)) return null;
  let digits = trimmed.replace(/[^\d]/g, '');
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
