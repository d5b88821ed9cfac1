import { DateTime } from 'luxon';
import type { PublishedPeriod } from './published';

/** Vietnamese number and period wording shared by the pages, the posters and the broadcast templates. */
export const NOT_ENOUGH_VI = 'chưa đủ số phiếu';

/** 0.8451 → "84,5%" (decimal comma). */
export function percentVi(v: number): string {
  return `${(v * 100).toFixed(1).replace('.', ',')}%`;
}

/** 1234 → "1.234". */
export function countVi(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}

const ROMAN = ['I', 'II', 'III', 'IV'];

/** "Tháng 11/2026", "Quý III/2026", "Năm 2026" ("Năm 2026 (đến hết tháng 11)" for a year in progress). */
export function periodLabelVi(p: Pick<PublishedPeriod, 'kind' | 'key' | 'to'>): string {
  if (p.kind === 'month') {
    const m = DateTime.fromFormat(p.key, 'yyyy-LL');
    return `Tháng ${m.toFormat('LL/yyyy')}`;
  }
  if (p.kind === 'quarter') {
    const [y, q] = p.key.split('-Q');
    return `Quý ${ROMAN[Number(q) - 1]}/${y}`;
  }
  const end = DateTime.fromISO(p.to);
  return end.month === 12 ? `Năm ${p.key}` : `Năm ${p.key} (đến hết tháng ${end.month})`;
}

/** 'YYYY-MM-DD' → 'dd/MM/yyyy'. */
export function dayVi(day: string): string {
  return DateTime.fromISO(day).toFormat('dd/LL/yyyy');
}
