/** Matching typed replies against options: diacritics, case and spacing do not matter. */
export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** "1, 3", "1 3", "1;3" → [1, 3]; null when the text is not only positive integers. */
export function parseNumberList(text: string): number[] | null {
  const parts = text.split(/[\s,;.+&]+/).filter((p) => p.length > 0);
  if (parts.length === 0 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  return [...new Set(parts.map(Number))];
}

/** A typed number: "3", "3,5" (Vietnamese decimal comma), "1.000" is not accepted as thousands. */
export function parseNumber(text: string): number | null {
  const s = text.trim().replace(',', '.');
  if (!/^-?\d+(\.\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
