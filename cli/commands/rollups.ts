import type { Command } from 'commander';
import { env } from '../../config/env';
import { createProducerConnection } from '../../lib/redis';
import { backfillAnswerBuckets } from '../../workers/aggregation/rollups/backfill';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { parseDay } from './day-option';
import { withMongo } from './report';

interface RangeOpts {
  from?: string;
  to?: string;
}

/** The optional day range both subcommands take. */
function withDayRange(cmd: Command): Command {
  return cmd
    .option('--from <day>', 'từ ngày / first day, YYYY-MM-DD (Asia/Ho_Chi_Minh)', parseDay)
    .option('--to <day>', 'đến ngày / last day, YYYY-MM-DD (inclusive)', parseDay);
}

/**
 * `hailong rollups rebuild [--from YYYY-MM-DD --to YYYY-MM-DD]`: recomputes every unit-day rollup
 * from the raw answers. Safe while workers run (versioned writes, see workers/aggregation/rollups/recompute.ts).
 * `hailong rollups backfill [--from --to]`: the one-off migration of answers stored before they
 * carried their unit and day (run it once, then `rebuild`).
 */
export function registerRollupsCommand(program: Command): void {
  const cmd = program.command('rollups').description('Số liệu tổng hợp / rollups');
  withDayRange(cmd.command('rebuild'))
    .description('Tính lại từ dữ liệu gốc / recompute from the raw answers and dossiers')
    .action(async (opts: RangeOpts) => {
      const e = env();
      const redis = createProducerConnection(e);
      try {
        await withMongo(async () => {
          const started = Date.now();
          const r = await rebuildRollups({ redis, prefix: e.REDIS_PREFIX }, opts.from, opts.to);
          console.log(
            `rebuilt ${r.buckets} unit-day rollups (${r.stale} left to newer runs), ${r.dossierDays} unit-day dossier counts (${r.finishedDays} dossiers given their finish day) and ${r.months} unit-month totals for ${r.units} units over ${r.days} days from ${r.responses} responses in ${Date.now() - started} ms`,
          );
        });
      } finally {
        redis.disconnect();
      }
    });
  withDayRange(cmd.command('backfill'))
    .description(
      'Gắn đơn vị và ngày cho câu trả lời cũ / stamp old answers with their unit and day (migration)',
    )
    .action(async (opts: RangeOpts) => {
      await withMongo(async () => {
        const started = Date.now();
        const r = await backfillAnswerBuckets(opts.from, opts.to);
        console.log(
          `stamped ${r.answers} answers of ${r.responses} completed responses in ${Date.now() - started} ms; now run \`hailong rollups rebuild\``,
        );
      });
    });
}
