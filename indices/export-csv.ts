import { ELEMENT_NAMES_VI } from './formula';
import type { Report } from './report';

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The summary table as CSV: one row per element and the overall, Vietnamese headers, shares as
 * decimals with a dot. Starts with a UTF-8 BOM so Excel reads the Vietnamese letters.
 */
export function reportCsv(r: Report): string {
  const rows: Array<Array<string | number | null>> = [
    ['Đơn vị', 'Kỳ', 'Yếu tố', 'Mã', 'Số ý kiến (n)', 'Hài lòng', 'Không hài lòng', 'Không áp dụng', 'Chỉ số', 'Cận dưới 95%', 'Cận trên 95%'],
  ];
  const add = (name: string, code: string, s: Report['overall']) =>
    rows.push([r.unit, r.period, name, code, s.n, s.satisfied, s.dissatisfied, s.na, s.index, s.ci95?.low ?? null, s.ci95?.high ?? null]);
  for (const [code, s] of Object.entries(r.elements)) add(ELEMENT_NAMES_VI[code] ?? code, code, s);
  add('Chỉ số chung', 'CHUNG', r.overall);
  return '\ufeff' + rows.map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}
