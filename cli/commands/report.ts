import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import mongoose from 'mongoose';
import { env } from '../../config/env';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { UserError } from '../../lib/user-error';
import { renderReport, type ReportFormat } from '../../indices/report-file';
import { parsePeriodOption } from './period-option';
import { requireUnits } from './unit-option';
import { setReadSidePreference } from '../../lib/db/read-side';

export async function withMongo<T>(fn: () => Promise<T>): Promise<T> {
  // The entry point may already have connected (tests); then it also disconnects.
  const own = mongoose.connection.readyState !== 1;
  if (own) await connectMongo(env().MONGODB_URI);
  // Reports and exports are the read side: they may read from a secondary.
  setReadSidePreference(env().MONGO_READ_PREFERENCE);
  try {
    return await fn();
  } finally {
    if (own) await disconnectMongo();
  }
}

interface ReportOpts {
  unit: string;
  period: string;
  format: ReportFormat;
  out?: string;
  procedure?: string;
  officer?: string;
  channel?: string;
  minN?: number;
}

const FORMATS: readonly ReportFormat[] = ['json', 'csv', 'xlsx'];

function parseFormat(value: string): ReportFormat {
  if (!(FORMATS as readonly string[]).includes(value))
    throw new UserError(
      `định dạng không hỗ trợ "${value}": chọn json, csv hoặc xlsx`,
      `unsupported --format "${value}" (expected json, csv or xlsx)`,
      2,
    );
  return value as ReportFormat;
}

function parseMinN(value: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new UserError(
      `--min-n cần một số nguyên dương, không phải "${value}"`,
      `--min-n: expected a positive integer, got "${value}"`,
      2,
    );
  return Number(value);
}

/**
 * `hailong report --unit CODE --period YYYY|YYYY-Qn|YYYY-MM --format json|csv|xlsx [--out FILE]`.
 * JSON and CSV go to stdout unless --out is given; xlsx needs --out (default: a file named after
 * the unit and period in the current directory).
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Báo cáo chỉ số hài lòng tự đánh giá / self-assessed satisfaction report')
    .requiredOption('--unit <code>', 'mã đơn vị (gồm đơn vị trực thuộc và đơn vị đã sáp nhập) / unit code')
    .requiredOption(
      '--period <period>',
      'kỳ / period: YYYY, YYYY-Qn or YYYY-MM (Asia/Ho_Chi_Minh)',
      parsePeriodOption,
    )
    .option('--format <format>', 'json | csv | xlsx', parseFormat, 'json' as ReportFormat)
    .option('--out <file>', 'ghi ra tệp / write to this file')
    .option('--procedure <code>', 'chỉ thủ tục này / only this procedure')
    .option('--officer <id>', 'chỉ cán bộ này / only this officer')
    .option('--channel <channel>', 'in_person | online_3 | online_4 | post')
    .option('--min-n <n>', 'số phiếu tối thiểu để xếp hạng / minimum responses to be ranked', parseMinN)
    .action(async (opts: ReportOpts) => {
      // Day rollups keep one-dimensional breakdowns (docs/indices.md).
      if ([opts.procedure, opts.officer, opts.channel].filter((f) => f !== undefined).length > 1)
        throw new UserError(
          'chỉ lọc theo một trong --procedure, --officer, --channel mỗi lần',
          'filter by one of --procedure, --officer or --channel at a time',
          2,
        );
      await withMongo(async () => {
        await requireUnits([opts.unit]);
        const file = await renderReport({
          unit: opts.unit,
          period: opts.period,
          units: null,
          format: opts.format,
          officerMinN: env().OFFICER_MIN_N,
          ...(opts.procedure ? { procedure: opts.procedure } : {}),
          ...(opts.officer ? { officer: opts.officer } : {}),
          ...(opts.channel ? { channel: opts.channel } : {}),
          ...(opts.minN ? { rankingMinN: opts.minN } : {}),
        });
        const out = opts.out ?? (file.format === 'xlsx' ? file.filename : undefined);
        if (out) {
          await writeFile(out, file.body);
          console.error(`Đã ghi / wrote ${out}`);
        } else process.stdout.write(file.body);
      });
    });
}
