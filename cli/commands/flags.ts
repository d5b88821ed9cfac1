import type { Command } from 'commander';
import { env } from '../../config/env';
import { createProducerConnection } from '../../lib/redis';
import { UserError } from '../../lib/user-error';
import type { FlagReason } from '../../models/flag';
import { JobProducer } from '../../workers/producer';
import { excludeResponse, ExclusionReasonError } from '../../workers/aggregation/integrity/bursts';
import { listFlags } from '../../indices/flag-list';
import { scopedUnits } from '../../indices/units';
import { parseDay } from './day-option';
import { withMongo } from './report';
import { requireUnits } from './unit-option';

const REASON_VI: Record<FlagReason, string> = {
  identical_burst: 'nhiều phiếu giống hệt nhau trong thời gian ngắn',
  shared_contact: 'một tài khoản trả lời cho nhiều người nộp hồ sơ',
  counter_network: 'gửi từ mạng của bộ phận một cửa',
};

interface ListOpts {
  unit: string;
  from: string;
  to: string;
  json?: boolean;
}

interface ExcludeOpts {
  reason: string;
  by: string;
}

/**
 * `hailong flags list --unit CODE --from YYYY-MM-DD --to YYYY-MM-DD [--json]`: the responses the
 * integrity rules flagged in a unit and the units below it, with the reason and whether they are
 * excluded. `hailong flags exclude <responseId> --reason TEXT --by NAME`: leaves the response out
 * of the indices (the reason and the name go to the audit log; its day is recomputed at once).
 * Exclusion is an operator's command, not an API call: API keys have no admin role yet.
 */
/** A flag's counts for the table (`applicants=3, windowHours=24`); flags stored before them have a sentence instead. */
function countsOf(params: Record<string, number> | null): string {
  return Object.entries(params ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export function registerFlagsCommand(program: Command): void {
  const cmd = program.command('flags').description('Phiếu nghi vấn / flagged responses (integrity)');
  cmd
    .command('list')
    .description('Liệt kê phiếu nghi vấn / list flagged responses')
    .requiredOption('--unit <code>', 'mã đơn vị (gồm đơn vị trực thuộc) / unit code')
    .requiredOption('--from <day>', 'từ ngày / first day, YYYY-MM-DD (Asia/Ho_Chi_Minh)', parseDay)
    .requiredOption('--to <day>', 'đến ngày / last day, YYYY-MM-DD (inclusive)', parseDay)
    .option('--json', 'in JSON')
    .action(async (opts: ListOpts) => {
      await withMongo(async () => {
        await requireUnits([opts.unit]);
        const rows = await listFlags({
          units: await scopedUnits(opts.unit, null),
          from: opts.from,
          to: opts.to,
        });
        if (opts.json) {
          console.log(JSON.stringify(rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() }))));
          return;
        }
        if (rows.length === 0) {
          console.log('Không có phiếu nghi vấn / no flagged responses');
          return;
        }
        for (const r of rows) {
          const state = r.excluded ? 'đã loại / excluded' : 'đang tính / counted';
          console.log(
            [
              r.day,
              r.unitCode,
              r.responseId,
              r.reason,
              REASON_VI[r.reason],
              r.detail ?? countsOf(r.params),
              state,
            ].join('\t'),
          );
        }
      });
    });
  cmd
    .command('exclude <responseId>')
    .description('Loại phiếu khỏi chỉ số / exclude a response from the indices')
    .requiredOption(
      '--reason <text>',
      'lý do (bắt buộc, lưu nhật ký) / written reason, kept in the audit log',
    )
    .requiredOption('--by <name>', 'người quyết định / who decides')
    .action(async (responseId: string, opts: ExcludeOpts) => {
      const e = env();
      const redis = createProducerConnection(e);
      const producer = new JobProducer(redis, e.REDIS_PREFIX);
      try {
        await withMongo(async () => {
          const deps = {
            redis,
            prefix: e.REDIS_PREFIX,
            enqueue: async (name: string, payload: unknown, o?: { jobId?: string; delay?: number }) =>
              void (await producer.addByName(name, payload, o)),
          };
          const done = await excludeResponse(deps, responseId, opts.by, opts.reason).catch((err: unknown) => {
            if (err instanceof ExclusionReasonError)
              throw new UserError(
                'cần ghi lý do (ít nhất 5 ký tự)',
                'a written reason is required (5 characters or more)',
                2,
              );
            throw err;
          });
          if (!done)
            throw new UserError(
              `không tìm thấy phiếu chưa bị loại ${responseId}`,
              `no such response, or already excluded: ${responseId}`,
            );
          console.log(`Đã loại phiếu ${responseId} khỏi chỉ số / excluded; the indices are being recomputed`);
        });
      } finally {
        await producer.close();
        redis.disconnect();
      }
    });
}
