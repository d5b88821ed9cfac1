import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { SingleBar, Presets } from 'cli-progress';
import { parse as parseCsv } from 'csv-parse';
import ExcelJS from 'exceljs';
import type { Command } from 'commander';
import { env } from '../../config/env';
import { parseDossierEvent, type FieldIssue } from '../../bot/survey/dossier-event';
import { ingestDossierEvent, type OutreachScheduler } from '../../bot/survey/dossier-ingest';
import { parseDvcEvent } from '../../bot/survey/dvc-event';
import { withDb } from './apikey';

/**
 * `hailong import dossiers FILE`: CSV or XLSX exported from a one-stop system, streamed row by
 * row (a year of dossiers does not fit in memory on a small server). Columns are our field names
 * (code, procedureCode, ..., phone, telegramChatId, zaloUserId) or the national portal's
 * (MaHoSo, MaTTHC, ...). Each row goes through the same validation and idempotent ingest as the
 * API, so a re-run changes nothing. Errors are reported per row with the field path.
 */
export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  surveys: number;
  failed: number;
  errors: Array<{ row: number; code: string | null; issues: FieldIssue[] }>;
}

export interface ImportOptions {
  outreach?: OutreachScheduler;
  now?: Date;
  /** Called with the fraction of the file read (0..1), for the progress bar. */
  onProgress?: (fraction: number) => void;
}

type Row = Record<string, string>;

/** One spreadsheet row (all strings) → the JSON event the API would receive. */
export function rowToEvent(row: Row): { dvc: boolean; body: Record<string, unknown> } {
  const clean: Row = {};
  for (const [k, v] of Object.entries(row)) {
    const t = (v ?? '').trim();
    if (t !== '') clean[k.trim()] = t;
  }
  if ('MaHoSo' in clean) {
    const { NguoiXuLy, ...rest } = clean;
    return { dvc: true, body: { ...rest, ...(NguoiXuLy ? { QuaTrinhXuLy: [{ NguoiXuLy }] } : {}) } };
  }
  const level = clean.onlineLevel;
  return {
    dvc: false,
    body: {
      code: clean.code,
      procedureCode: clean.procedureCode,
      procedureName: clean.procedureName ?? null,
      unitCode: clean.unitCode,
      channel: clean.channel,
      onlineLevel: level === undefined ? null : /^\d+$/.test(level) ? Number(level) : level,
      receivedAt: clean.receivedAt ?? null,
      dueAt: clean.dueAt ?? null,
      finishedAt: clean.finishedAt ?? null,
      returnedAt: clean.returnedAt ?? null,
      status: clean.status,
      officerId: clean.officerId ?? null,
      applicant: {
        phone: clean.phone ?? clean['applicant.phone'] ?? null,
        telegramChatId: clean.telegramChatId ?? clean['applicant.telegramChatId'] ?? null,
        zaloUserId: clean.zaloUserId ?? clean['applicant.zaloUserId'] ?? null,
      },
    },
  };
}

function countingStream(file: string, onBytes: (n: number) => void): Transform {
  let read = 0;
  return createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        read += chunk.length;
        onBytes(read);
        cb(null, chunk);
      },
    }),
  );
}

function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('result' in v && v.result !== undefined) return cellText(v.result);
    if ('richText' in v) return v.richText.map((r) => r.text).join('');
    return '';
  }
  return String(v);
}

async function* rowsOf(file: string, onBytes: (n: number) => void): AsyncGenerator<Row> {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') {
    // BOM stripped: Excel writes one when saving "CSV UTF-8".
    const parser = countingStream(file, onBytes).pipe(
      parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }),
    );
    for await (const rec of parser) yield rec as Row;
    return;
  }
  if (ext === '.xlsx') {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(countingStream(file, onBytes), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      styles: 'ignore',
      hyperlinks: 'ignore',
    });
    for await (const sheet of reader) {
      let header: string[] | null = null;
      for await (const r of sheet) {
        const row = r;
        const values = (row.values as ExcelJS.CellValue[]).slice(1).map(cellText);
        if (!header) {
          header = values.map((h) => h.trim());
          continue;
        }
        const rec: Row = {};
        header.forEach((h, i) => {
          if (h) rec[h] = values[i] ?? '';
        });
        if (Object.values(rec).some((v) => v.trim() !== '')) yield rec;
      }
      return; // the first sheet only
    }
    return;
  }
  throw new Error(`unsupported file type ${ext || '(none)'}: expected .csv or .xlsx`);
}

export async function importDossiers(file: string, opts: ImportOptions = {}): Promise<ImportReport> {
  const size = statSync(file).size || 1;
  const report: ImportReport = { rows: 0, created: 0, updated: 0, surveys: 0, failed: 0, errors: [] };
  const e = env();
  for await (const row of rowsOf(file, (n) => opts.onProgress?.(Math.min(1, n / size)))) {
    report.rows++;
    // Row numbers as a spreadsheet shows them: the header is row 1.
    const rowNo = report.rows + 1;
    const { dvc, body } = rowToEvent(row);
    const parsed = dvc ? parseDvcEvent(body) : parseDossierEvent(body);
    const code = (dvc ? row.MaHoSo : row.code) ?? null;
    if (!parsed.ok) {
      report.failed++;
      report.errors.push({ row: rowNo, code, issues: parsed.issues });
      continue;
    }
    const r = await ingestDossierEvent(parsed.event, {
      env: e,
      ...(opts.outreach ? { outreach: opts.outreach } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      source: 'import',
    });
    if (!r.ok) {
      report.failed++;
      report.errors.push({ row: rowNo, code, issues: r.issues });
      continue;
    }
    if (r.created) report.created++;
    else report.updated++;
    if (r.survey) report.surveys++;
  }
  opts.onProgress?.(1);
  return report;
}

export function registerImportDossiersCommand(program: Command): void {
  const importCmd =
    program.commands.find((c) => c.name() === 'import') ??
    program.command('import').description('Nhập dữ liệu / import data');
  importCmd
    .command('dossiers')
    .argument('<file>', 'CSV or XLSX file exported from the one-stop system')
    .description('Nhập hồ sơ từ tệp CSV/XLSX (chạy lại không tạo trùng) / import dossiers, idempotent')
    .action(async (file: string) => {
      await withDb(async () => {
        const bar = process.stderr.isTTY
          ? new SingleBar(
              { format: 'Nhập hồ sơ |{bar}| {percentage}%', stream: process.stderr },
              Presets.shades_classic,
            )
          : null;
        bar?.start(100, 0);
        try {
          const report = await importDossiers(file, { onProgress: (f) => bar?.update(Math.round(f * 100)) });
          bar?.stop();
          for (const err of report.errors) {
            for (const i of err.issues)
              console.log(`row ${err.row}${err.code ? ` (${err.code})` : ''}: ${i.path}: ${i.message}`);
          }
          console.log(
            `rows ${report.rows}, created ${report.created}, updated ${report.updated}, surveys ${report.surveys}, failed ${report.failed}`,
          );
          if (report.failed > 0) process.exitCode = 1;
        } finally {
          bar?.stop();
        }
      });
    });
}
