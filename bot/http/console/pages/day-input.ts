/**
 * Days in console forms are text fields of dd/mm/yyyy: a browser's own date field shows its
 * locale's order (mm/dd/yyyy on an English Chrome, whatever the page's `lang`), and an office PC's
 * locale is not the console's to choose. The server reads the text; the API's YYYY-MM-DD (in the
 * console's own links) is read too.
 */
const DMY = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The API's YYYY-MM-DD of a typed day, or null when it is not a day of the calendar. */
export function parseDay(text: string): string | null {
  const t = text.trim();
  const m = DMY.exec(t);
  const iso = ISO.exec(t);
  const [y, mo, d] = m ? [m[3], m[2], m[1]] : iso ? [iso[1], iso[2], iso[3]] : [];
  if (!y || !mo || !d) return null;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    date.getUTCFullYear() !== Number(y) ||
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d)
  )
    return null;
  return date.toISOString().slice(0, 10);
}

/** YYYY-MM-DD as the field shows it (dd/mm/yyyy); anything else (a refused text) as it is. */
export function dayText(value: string | undefined): string {
  const m = ISO.exec(value ?? '');
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (value ?? '');
}

/**
 * The typed days of `keys` in `q`: the API's days, or, for each text that is not a day, the
 * error to show under its field (the page then asks the API nothing).
 */
export function readDays<K extends string>(
  q: Partial<Record<K, string | undefined>>,
  keys: readonly K[],
  badDay: string,
): { days: Partial<Record<K, string>>; errors: Partial<Record<K, string>> } {
  const days: Partial<Record<K, string>> = {};
  const errors: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const text = q[k]?.trim();
    if (!text) continue;
    const day = parseDay(text);
    if (day) days[k] = day;
    else errors[k] = badDay;
  }
  return { days, errors };
}
