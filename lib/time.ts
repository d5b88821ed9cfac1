import { DateTime } from 'luxon';

/** Periods are counted in Asia/Ho_Chi_Minh time (UTC+7, no daylight saving). */
export const ZONE = 'Asia/Ho_Chi_Minh';

export function hcm(date: Date): DateTime {
  return DateTime.fromJSDate(date, { zone: ZONE });
}

/** The Asia/Ho_Chi_Minh calendar day of an instant: 'YYYY-MM-DD'. */
export function hcmDay(date: Date): string {
  return hcm(date).toFormat('yyyy-LL-dd');
}

/** The month 'YYYY-MM' of a day 'YYYY-MM-DD'. */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

export function hcmMonth(date: Date): string {
  return hcm(date).toFormat('yyyy-LL');
}

export function hcmQuarter(date: Date): string {
  const d = hcm(date);
  return `${d.year}-Q${d.quarter}`;
}

export function hcmYear(date: Date): string {
  return String(hcm(date).year);
}

/** dd/MM/yyyy (Vietnamese reports). */
export function formatDate(date: Date): string {
  return hcm(date).toFormat('dd/LL/yyyy');
}

export function formatDateTime(date: Date): string {
  return hcm(date).toFormat('dd/LL/yyyy HH:mm');
}

export interface Period {
  key: string;
  kind: 'year' | 'quarter' | 'month' | 'day';
  /** Inclusive start, exclusive end, as instants. */
  start: Date;
  end: Date;
  /** Inclusive first and last day keys 'YYYY-MM-DD'. */
  firstDay: string;
  lastDay: string;
}

/** Parses 'YYYY', 'YYYY-Qn', 'YYYY-MM' or 'YYYY-MM-DD' into an Asia/Ho_Chi_Minh period. */
export function parsePeriod(key: string): Period {
  let start: DateTime;
  let end: DateTime;
  let kind: Period['kind'];
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})$/.exec(key))) {
    kind = 'year';
    start = DateTime.fromObject({ year: Number(m[1]) }, { zone: ZONE });
    end = start.plus({ years: 1 });
  } else if ((m = /^(\d{4})-Q([1-4])$/.exec(key))) {
    kind = 'quarter';
    start = DateTime.fromObject({ year: Number(m[1]), month: (Number(m[2]) - 1) * 3 + 1 }, { zone: ZONE });
    end = start.plus({ months: 3 });
  } else if ((m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(key))) {
    kind = 'month';
    start = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]) }, { zone: ZONE });
    end = start.plus({ months: 1 });
  } else if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key))) {
    kind = 'day';
    start = DateTime.fromObject(
      { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) },
      { zone: ZONE },
    );
    if (!start.isValid) throw new Error(`invalid period "${key}"`);
    end = start.plus({ days: 1 });
  } else {
    throw new Error(`invalid period "${key}": expected YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD`);
  }
  return {
    key,
    kind,
    start: start.toJSDate(),
    end: end.toJSDate(),
    firstDay: start.toFormat('yyyy-LL-dd'),
    lastDay: end.minus({ days: 1 }).toFormat('yyyy-LL-dd'),
  };
}
