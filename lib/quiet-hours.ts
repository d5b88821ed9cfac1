import { DateTime } from 'luxon';

/**
 * Quiet hours in Asia/Ho_Chi_Minh ("21:00"–"07:00" wraps midnight). Template messages (paid,
 * unsolicited) are held until the end; consultation replies to a citizen who just wrote are not.
 * Returns the end of the quiet period when `at` falls inside it, else null.
 */
export function quietUntil(at: number, start: string, end: string, zone = 'Asia/Ho_Chi_Minh'): Date | null {
  if (start === end) return null;
  const local = DateTime.fromMillis(at, { zone });
  const minutes = local.hour * 60 + local.minute;
  const [sh, sm] = start.split(':').map(Number) as [number, number];
  const [eh, em] = end.split(':').map(Number) as [number, number];
  const s = sh * 60 + sm;
  const e = eh * 60 + em;
  const inside = s < e ? minutes >= s && minutes < e : minutes >= s || minutes < e;
  if (!inside) return null;
  let until = local.set({ hour: eh, minute: em, second: 0, millisecond: 0 });
  if (until <= local) until = until.plus({ days: 1 });
  return until.toJSDate();
}
