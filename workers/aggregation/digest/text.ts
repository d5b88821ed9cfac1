import { formatDateTime } from '../../../lib/time';
import { ELEMENT_NAMES_VI, ELEMENTS, INDEX_LABEL_VI, NOT_ENOUGH_DATA, type Share } from '../../../indices/formula';
import type { DigestFigures } from './figures';

const pct = (x: number) => `${(x * 100).toFixed(1).replace('.', ',')}%`;

function dayVi(day: string): string {
  const [y, m, d] = day.split('-');
  return `${d}/${m}/${y}`;
}

function share(s: Share): string {
  if (s.index === null) return 'chưa có phiếu';
  const ci = s.ci95 ? `; KTC 95%: ${pct(s.ci95.low)}–${pct(s.ci95.high)}` : '';
  return `${pct(s.index)} (n=${s.n}${ci})`;
}

/**
 * The digest message, Vietnamese (the unit's officials read it), a short English line last.
 * Counts, shares and dossier codes only: no phone number, name, chat id or free text.
 */
export function renderDigest(f: DigestFigures): string {
  const when = f.asOf ? `hôm nay ${dayVi(f.day)} (đến ${formatDateTime(f.asOf).slice(11)})` : `ngày ${dayVi(f.day)}`;
  const lines = [
    `📊 Báo cáo ${when}`,
    `Đơn vị: ${f.unitName ?? f.unitCode} (${f.unitCode})`,
    `${INDEX_LABEL_VI} (không phải chỉ số SIPAS chính thức)`,
    `Phiếu hoàn thành: ${f.responses}${f.excludedResponses > 0 ? ` (đã loại ${f.excludedResponses} phiếu khỏi chỉ số)` : ''}`,
  ];
  if (f.flaggedResponses > 0) lines.push(`Phiếu nghi vấn cần xem xét: ${f.flaggedResponses}`);
  lines.push(`Chỉ số chung: ${share(f.overall)}`);
  const shown = ELEMENTS.filter((e) => f.elements[e] && (f.elements[e].n > 0 || f.elements[e].na > 0));
  if (shown.length > 0) {
    lines.push('Theo yếu tố:');
    for (const e of shown) {
      const s = f.elements[e]!;
      const value = s.n >= f.minN && s.index !== null ? `${pct(s.index)} (n=${s.n})` : `${NOT_ENOUGH_DATA} (n=${s.n} < ${f.minN})`;
      lines.push(`• ${ELEMENT_NAMES_VI[e] ?? e}: ${value}`);
    }
  }
  lines.push(`Phản ánh không hài lòng mới: ${f.newCases}`);
  const more = f.overdueCases - f.overdueDossiers.length;
  lines.push(
    f.overdueCases > 0
      ? `Phản ánh quá hạn chưa xử lý: ${f.overdueCases} (hồ sơ ${f.overdueDossiers.join(', ')}${more > 0 ? ` và ${more} hồ sơ khác` : ''})`
      : 'Phản ánh quá hạn chưa xử lý: 0',
  );
  lines.push(`EN: ${f.responses} responses; ${f.newCases} new cases; ${f.overdueCases} overdue cases.`);
  return lines.join('\n');
}
