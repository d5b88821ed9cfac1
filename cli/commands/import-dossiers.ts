import { statSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { env } from '../../config/env';
import { parseDossierEvent, type FieldIssue } from '../../bot/survey/dossier-event';
import { ingestDossierEvent, type OutreachScheduler } from '../../bot/survey/dossier-ingest';
import { parseDvcEvent } from '../../bot/survey/dvc-event';
import { parseEncoding } from '../import/encoding';
import { rowsOf, type Row } from '../import/rows';
import { withDb } from './apikey';
import { createProducerConnection } from '../../lib/redis';
import type { ScheduleDeps } from '../../workers/aggregation/rollups/schedule';
import { JobProducer } from '../../workers/producer';

/**
 * `hailong import dossiers FILE [--encoding NAME]`: CSV or XLSX exported from a one-stop system,
 * streamed row by row (a year of dossiers does not fit in memory on a small server). Columns are
 * our field names (code, procedureCode, ..., phone, telegramChatId, zaloUserId) or the national
 * portal's (MaHoSo, MaTTHC, ...). Each row goes through the same validation and idempotent ingest
 * as the API, so a re-run changes nothing. A bad row (unreadable, or refused with the path of each
 * wrong field) is reported with its line (CSV) or row (XLSX) number and the others are stored;
 * the command then exits 1. A file whose encoding is unclear is refused whole
 * (cli/import/encoding.ts); XLSX dates are read as dates (cli/import/rows.ts).
 */
export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  surveys: number;
  failed: number;
  /** `row`: the CSV line (where the row ends) or the spreadsheet row, header = 1. */
  errors: Array<{ row: number; code: string | null; issues: FieldIssue[] }>;
}

export interface ImportOptions {
  outreach?: OutreachScheduler;
  /** Where the dossier counts of the finish days are asked for (bot/survey/dossier-ingest.ts). */
  rollups: ScheduleDeps | null;
  now?: Date;
  /** The CSV's encoding when it has no byte order mark (default: UTF-8, checked). */
  encoding?: string | null;
  /** Called with the fraction of the file read (0..1), for the progress bar. */
  onProgress?: (fraction: number) => void;
}

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

export async function importDossiers(file: string, opts: ImportOptions): Promise<ImportReport> {
  const size = statSync(file).size || 1;
  const report: ImportReport = { rows: 0, created: 0, updated: 0, surveys: 0, failed: 0, errors: [] };
  const e = env();
  const rows = rowsOf(file, {
    encoding: opts.encoding ?? null,
    onBytes: (n) => opts.onProgress?.(Math.min(1, n / size)),
  });
  for await (const source of rows) {
    report.rows++;
    const rowNo = source.row;
    if ('error' in source) {
      report.failed++;
      report.errors.push({ row: rowNo, code: null, issues: [{ path: '(row)', message: source.error }] });
      continue;
    }
    const row = source.values;
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
      rollups: opts.rollups,
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
    .option(
      '--encoding <name>',
      'bảng mã của tệp CSV không có BOM, ví dụ windows-1258 / encoding of a CSV without a byte order mark',
      parseEncoding,
    )
    .description('Nhập hồ sơ từ tệp CSV/XLSX (chạy lại không tạo trùng) / import dossiers, idempotent')
    .action(async (file: string, opts: { encoding?: string }) => {
      await withDb(async () => {
        const e = env();
        const redis = createProducerConnection(e);
        const producer = new JobProducer(redis, e.REDIS_PREFIX);
        const rollups: ScheduleDeps = {
          redis,
          prefix: e.REDIS_PREFIX,
          enqueue: async (name, payload, o) => void (await producer.addByName(name, payload, o)),
        };
        const bar = process.stderr.isTTY
          ? new SingleBar(
              { format: 'Nhập hồ sơ |{bar}| {percentage}%', stream: process.stderr },
              Presets.shades_classic,
            )
          : null;
        bar?.start(100, 0);
        try {
          const report = await importDossiers(file, {
            rollups,
            encoding: opts.encoding ?? null,
            onProgress: (f) => bar?.update(Math.round(f * 100)),
          });
          bar?.stop();
          for (const err of report.errors) {
            for (const i of err.issues)
              console.log(
                `dòng ${err.row} / row ${err.row}${err.code ? ` (${err.code})` : ''}: ${i.path}: ${i.message}`,
              );
          }
          console.log(
            `Đã đọc ${report.rows} dòng: tạo ${report.created}, cập nhật ${report.updated}, khảo sát ${report.surveys}, lỗi ${report.failed} / rows ${report.rows}, created ${report.created}, updated ${report.updated}, surveys ${report.surveys}, failed ${report.failed}`,
          );
          // The valid rows are stored; a failed row makes the run fail, so a script notices.
          if (report.failed > 0) process.exitCode = 1;
        } finally {
          bar?.stop();
          await producer.close();
          redis.disconnect();
        }
      });
    });
}
