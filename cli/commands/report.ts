import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import mongoose from 'mongoose';
import { env } from '../../config/env';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { renderReport, type ReportFormat } from '../../workers/aggregation/report-file';
import { UnitAccessError } from '../../workers/aggregation/units';

export async function withMongo<T>(fn: () => Promise<T>): Promise<T> {
  // The entry point may already have connected (tests); then it also disconnects.
  const own = mongoose.connection.readyState !== 1;
  if (own) await connectMongo(env().MONGODB_URI);
  try {
    return await fn();
  } finally {
    if (own) await disconnectMongo();
  }
}

interface ReportOpts {
  unit: string;
  period: string;
  format: string;
  out?: string;
  procedure?: string;
  officer?: string;
  channel?: string;
  minN?: string;
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
    .requiredOption('--period <period>', 'kỳ / period: YYYY, YYYY-Qn or YYYY-MM (Asia/Ho_Chi_Minh)')
    .option('--format <format>', 'json | csv | xlsx', 'json')
    .option('--out <file>', 'ghi ra tệp / write to this file')
    .option('--procedure <code>', 'chỉ thủ tục này / only this procedure')
    .option('--officer <id>', 'chỉ cán bộ này / only this officer')
    .option('--channel <channel>', 'in_person | online_3 | online_4 | post')
    .option('--min-n <n>', 'số phiếu tối thiểu để xếp hạng / minimum responses to be ranked')
    .action(async (opts: ReportOpts) => {
      if (!['json', 'csv', 'xlsx'].includes(opts.format)) {
        console.error(`unsupported --format "${opts.format}" (expected json, csv or xlsx)`);
        process.exitCode = 2;
        return;
      }
      await withMongo(async () => {
        try {
          const file = await renderReport({
            unit: opts.unit,
            period: opts.period,
            units: null,
            format: opts.format as ReportFormat,
            officerMinN: env().OFFICER_MIN_N,
            ...(opts.procedure ? { procedure: opts.procedure } : {}),
            ...(opts.officer ? { officer: opts.officer } : {}),
            ...(opts.channel ? { channel: opts.channel } : {}),
            ...(opts.minN ? { rankingMinN: Number(opts.minN) } : {}),
          });
          const out = opts.out ?? (file.format === 'xlsx' ? file.filename : undefined);
          if (out) {
            await writeFile(out, file.body);
            console.error(`wrote ${out}`);
          } else process.stdout.write(file.body);
        } catch (err) {
          if (err instanceof UnitAccessError || (err instanceof Error && /invalid period|filter by one/.test(err.message))) {
            console.error(err.message);
            process.exitCode = 2;
            return;
          }
          throw err;
        }
      });
    });
}
