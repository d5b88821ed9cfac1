import type { Command } from 'commander';
import mongoose from 'mongoose';
import { env } from '../../config/env';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { UserError } from '../../lib/user-error';
import { writeResponsesCsv } from '../export/responses-csv';

/**
 * `hailong export responses --format csv [--unit CODE] [--from YYYY-MM-DD --to YYYY-MM-DD]`:
 * completed responses as CSV on stdout (UTF-8 with BOM, for Excel). Messages go to stderr so
 * the output can be redirected to a file as is.
 */
export function registerExportCommand(program: Command): void {
  const cmd = program.command('export').description('Xuất dữ liệu / export data');
  cmd
    .command('responses')
    .description('Xuất phản hồi đã hoàn thành ra CSV / export completed responses as CSV to stdout')
    .option('--format <format>', 'định dạng / output format (csv)', 'csv')
    .option('--unit <code>', 'chỉ đơn vị này và các đơn vị trực thuộc / this unit and the units below it')
    .option('--from <day>', 'từ ngày hoàn thành / first completion day, YYYY-MM-DD (Asia/Ho_Chi_Minh)')
    .option('--to <day>', 'đến ngày hoàn thành / last completion day, YYYY-MM-DD (inclusive)')
    .action(async (opts: { format: string; unit?: string; from?: string; to?: string }) => {
      if (opts.format !== 'csv')
        throw new UserError(
          `định dạng không hỗ trợ "${opts.format}": chỉ có csv`,
          `unsupported --format "${opts.format}" (expected csv)`,
          2,
        );
      const own = mongoose.connection.readyState !== mongoose.ConnectionStates.connected;
      if (own) await connectMongo(env().MONGODB_URI);
      try {
        const { rows } = await writeResponsesCsv(process.stdout, {
          ...(opts.unit ? { unit: opts.unit } : {}),
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
        });
        console.error(`Đã xuất ${rows} phiếu / ${rows} responses exported`);
      } finally {
        if (own) await disconnectMongo();
      }
    });
}
