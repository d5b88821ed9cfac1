import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { parse as parseCsv, type CsvError } from 'csv-parse';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { DateTime } from 'luxon';
import { UserError } from '../../lib/user-error';
import { chooseEncoding } from './encoding';

/**
 * The rows of a dossier file (CSV or XLSX), streamed one at a time, each with the number a
 * person finds it by: the line of a CSV (where the row ends, for a cell holding line breaks), the
 * row of a spreadsheet. A row that cannot be read (a wrong number of columns, a quote left open)
 * comes as an error with that number instead of ending the file; rows after it are read.
 */
export type Row = Record<string, string>;
export type SourceRow = { row: number; values: Row } | { row: number; error: string };

export interface ReadOptions {
  /** --encoding, for CSV files without a byte order mark (cli/import/encoding.ts). */
  encoding?: string | null;
  /** Bytes of the file read so far, for the progress bar. */
  onBytes?: (n: number) => void;
}

/**
 * Date columns: a spreadsheet cell there holding a bare number (a date typed into an unformatted
 * cell) is an Excel serial date. Cells formatted as dates arrive as dates whatever the column.
 */
export const DATE_COLUMNS: ReadonlySet<string> = new Set([
  'receivedAt',
  'dueAt',
  'finishedAt',
  'returnedAt',
  'NgayTiepNhan',
  'NgayHenTra',
  'NgayKetThucXuLy',
  'NgayTra',
]);

/** Excel serials: day 1 is 1900-01-01; 2958465 is 9999-12-31 (the 1900 date system). */
const SERIAL_MAX = 2958466;
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

/**
 * An Excel date-time as the wall-clock time it shows, ISO 8601 without an offset, which the
 * dossier parser reads in Asia/Ho_Chi_Minh (bot/survey/dossier-event.ts): Excel has no time
 * zones, and a one-stop system's export holds Vietnamese local times. exceljs gives formatted
 * cells as a Date whose UTC fields are that wall-clock time.
 */
function wallClock(d: Date): string {
  return DateTime.fromJSDate(d, { zone: 'utc' }).toFormat("yyyy-MM-dd'T'HH:mm:ss");
}

export function excelSerialToWallClock(serial: number): string {
  return wallClock(new Date(EXCEL_EPOCH_MS + Math.round(serial * 86_400) * 1000));
}

function cellText(v: ExcelJS.CellValue, dateColumn: boolean): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return wallClock(v);
  if (typeof v === 'number')
    return dateColumn && v > 0 && v < SERIAL_MAX ? excelSerialToWallClock(v) : String(v);
  if (typeof v === 'object') {
    if ('result' in v && v.result !== undefined) return cellText(v.result, dateColumn);
    if ('richText' in v) return v.richText.map((r) => r.text).join('');
    if ('text' in v && typeof v.text === 'string') return v.text;
    return '';
  }
  return String(v);
}

function counting(file: string, onBytes?: (n: number) => void): Readable {
  let read = 0;
  return createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        read += chunk.length;
        onBytes?.(read);
        cb(null, chunk);
      },
    }),
  );
}

/** The field delimiter, from the header line: Excel writes ";" where the list separator is ";" (vi-VN), a tab in "Unicode Text". */
async function sniffDelimiter(file: string, encoding: string): Promise<string> {
  let head = '';
  for await (const chunk of createReadStream(file, { start: 0, end: 64 * 1024 - 1 }).pipe(
    iconv.decodeStream(encoding),
  ))
    head += chunk as string;
  const header = head.split(/\r?\n/, 1)[0] ?? '';
  const counts = [',', ';', '\t'].map((d) => [d, header.split(d).length - 1] as const);
  return counts.reduce((best, c) => (c[1] > best[1] ? c : best))[0];
}

async function* csvRows(file: string, opts: ReadOptions): AsyncGenerator<SourceRow> {
  const encoding = await chooseEncoding(file, opts.encoding ?? null);
  const delimiter = await sniffDelimiter(file, encoding);
  const skipped: SourceRow[] = [];
  const parser = counting(file, opts.onBytes)
    // iconv-lite drops the byte order mark.
    .pipe(iconv.decodeStream(encoding))
    .pipe(
      parseCsv({
        columns: (header: string[]) => header.map((h) => h.normalize('NFC').trim()),
        delimiter,
        skip_empty_lines: true,
        info: true,
        // A quote inside a field is kept as written (an unescaped `"` would otherwise end the
        // parse or swallow the rows after it); a row with a wrong number of columns is an error.
        relax_quotes: true,
        skip_records_with_error: true,
        on_skip: (err: CsvError | undefined) => {
          if (err)
            skipped.push({
              row: Number((err as CsvError & { lines?: number }).lines ?? 0),
              error: err.message,
            });
          return undefined;
        },
      }),
    );
  for await (const rec of parser as AsyncIterable<{ record: Row; info: { lines: number } }>) {
    while (skipped.length > 0) yield skipped.shift()!;
    const values: Row = {};
    // NFC: text decoded from windows-1258 (and some UTF-8 from macOS) has its tone marks apart.
    for (const [k, v] of Object.entries(rec.record)) values[k] = v.normalize('NFC');
    yield { row: rec.info.lines, values };
  }
  while (skipped.length > 0) yield skipped.shift()!;
}

async function* xlsxRows(file: string, opts: ReadOptions): AsyncGenerator<SourceRow> {
  // Styles are read so that date-formatted cells come as dates, not serial numbers.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(counting(file, opts.onBytes), {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
  });
  for await (const sheet of reader) {
    let header: string[] | null = null;
    for await (const row of sheet) {
      const cells = (row.values as ExcelJS.CellValue[]).slice(1);
      if (!header) {
        header = cells.map((h) => cellText(h, false).normalize('NFC').trim());
        continue;
      }
      const values: Row = {};
      header.forEach((h, i) => {
        if (h) values[h] = cellText(cells[i], DATE_COLUMNS.has(h)).normalize('NFC');
      });
      if (Object.values(values).some((v) => v.trim() !== '')) yield { row: row.number, values };
    }
    return; // the first sheet only
  }
}

export function rowsOf(file: string, opts: ReadOptions = {}): AsyncGenerator<SourceRow> {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return csvRows(file, opts);
  if (ext === '.xlsx') return xlsxRows(file, opts);
  throw new UserError(
    `loại tệp không hỗ trợ ${ext || '(không có đuôi)'}: cần .csv hoặc .xlsx`,
    `unsupported file type ${ext || '(none)'}: expected .csv or .xlsx`,
    2,
  );
}
