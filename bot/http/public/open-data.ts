import type { PublishedPeriod, UnitResults } from './published';

/**
 * The open data of a unit's results: the JSON is UnitResults as published (schema
 * `hailong.public-results/1`); the CSV is one row per period and element, in the columns below,
 * which only grow at the end (docs/open-data.md). A period below the minimum is one OVERALL row
 * with published = 0 and every figure empty.
 */
export const CSV_COLUMNS = [
  'unit_code',
  'unit_name',
  'period_kind',
  'period',
  'from',
  'to',
  'element',
  'element_name',
  'published',
  'responses',
  'n',
  'index',
  'ci95_low',
  'ci95_high',
] as const;

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  // A leading = + - @ would be read as a formula by a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

function periodRows(r: UnitResults, p: PublishedPeriod): Array<Array<string | number | null>> {
  const head = [r.unit.code, r.unit.name, p.kind, p.key, p.from, p.to];
  if (!p.overall) return [[...head, 'OVERALL', 'Chỉ số chung', 0, null, null, null, null, null]];
  const o = p.overall;
  return [
    [
      ...head,
      'OVERALL',
      'Chỉ số chung',
      1,
      p.responses,
      o.n,
      round6(o.index),
      round6(o.ci95.low),
      round6(o.ci95.high),
    ],
    ...p.elements.map((e) =>
      e.share
        ? [
            ...head,
            e.code,
            e.name,
            1,
            p.responses,
            e.share.n,
            round6(e.share.index),
            round6(e.share.ci95.low),
            round6(e.share.ci95.high),
          ]
        : [...head, e.code, e.name, 0, p.responses, null, null, null, null],
    ),
  ];
}

/** The 12 months of the trend, then the quarter and the year (the month is the trend's last). */
export function resultsCsv(r: UnitResults): string {
  const periods = [...r.months, ...r.periods.filter((p) => p.kind !== 'month')];
  const lines = [
    CSV_COLUMNS.join(','),
    ...periods.flatMap((p) => periodRows(r, p)).map((row) => row.map(csvField).join(',')),
  ];
  // A BOM so that spreadsheet programs read the Vietnamese names as UTF-8.
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
