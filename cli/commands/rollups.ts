import type { Command } from 'commander';
import { env } from '../../config/env';
import { createProducerConnection } from '../../lib/redis';
import { rebuildRollups } from '../../workers/aggregation/rebuild';
import { withMongo } from './report';

/**
 * `hailong rollups rebuild [--from YYYY-MM-DD --to YYYY-MM-DD]`: recomputes every unit-day rollup
 * from the raw answers. Safe while workers run (versioned writes, see workers/aggregation/recompute.ts).
 */
export function registerRollupsCommand(program: Command): void {
  const cmd = program.command('rollups').description('Số liệu tổng hợp / rollups');
  cmd
    .command('rebuild')
    .description('Tính lại từ dữ liệu gốc / recompute from the raw answers')
    .option('--from <day>', 'từ ngày / first day, YYYY-MM-DD (Asia/Ho_Chi_Minh)')
    .option('--to <day>', 'đến ngày / last day, YYYY-MM-DD (inclusive)')
    .action(async (opts: { from?: string; to?: string }) => {
      for (const d of [opts.from, opts.to]) {
        if (d !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(d)) {
          console.error(`invalid day "${d}": expected YYYY-MM-DD`);
          process.exitCode = 2;
          return;
        }
      }
      const e = env();
      const redis = createProducerConnection(e.REDIS_URL);
      try {
        await withMongo(async () => {
          const started = Date.now();
          const r = await rebuildRollups({ redis, prefix: e.REDIS_PREFIX }, opts.from, opts.to);
          console.log(`rebuilt ${r.buckets} unit-day rollups over ${r.days} days from ${r.responses} responses in ${Date.now() - started} ms`);
        });
      } finally {
        redis.disconnect();
      }
    });
}
