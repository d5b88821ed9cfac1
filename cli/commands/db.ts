import type { Command } from 'commander';
import { dumpDatabase, restoreDatabase } from '../../lib/db/dump';
import { checkFeatures, serverInfo } from '../../lib/db/features';
import { buildIndexes, describeIndex, missingIndexes } from '../../lib/db/indexes';
import { withMongo } from './report';

/**
 * `hailong db indexes | check | dump <dir> | restore <dir> [--drop]`: the database's indexes,
 * built on purpose (lib/db/indexes.ts), what the connected server lacks, and a logical backup
 * both FerretDB and MongoDB take (lib/db/dump.ts; the restore drill in docs/operations.md).
 */
export function registerDbCommands(program: Command): void {
  const cmd = program
    .command('db')
    .description('Cơ sở dữ liệu: chỉ mục, kiểm tra, sao lưu / database: indexes, check, backup');
  cmd
    .command('indexes')
    .description('Tạo mọi chỉ mục / build every model’s indexes')
    .action(async () => {
      const built = await withMongo(buildIndexes);
      let created = 0;
      for (const b of built) {
        created += b.created.length;
        for (const name of b.created) console.log(`+ ${b.collection} ${name}`);
        for (const name of b.undeclared)
          console.log(
            `? ${b.collection} ${name} (không khai báo trong mã, giữ nguyên / not declared by the code, kept)`,
          );
      }
      console.log(
        `Đã tạo ${created} chỉ mục trên ${built.length} bộ sưu tập / created ${created} index(es) on ${built.length} collections`,
      );
    });
  cmd
    .command('check')
    .description('Kiểm tra chỉ mục và tính năng cần có / check indexes and the features the code relies on')
    .action(async () => {
      const problems = await withMongo(async () => {
        const info = await serverInfo();
        console.log(
          `Máy chủ / server: MongoDB ${info.version}${info.ferretdb ? ` (FerretDB ${info.ferretdb})` : ''}, ` +
            `${info.replicaSet ? `replica set ${info.replicaSet}` : 'độc lập / standalone'}`,
        );
        const missing = await missingIndexes();
        for (const m of missing) console.log(`THIẾU / MISSING index: ${describeIndex(m)}`);
        if (missing.length === 0) console.log('Chỉ mục: đủ / indexes: all present');
        let failed = 0;
        for (const f of await checkFeatures()) {
          console.log(`${f.ok ? 'OK  ' : 'LỖI / FAIL'} ${f.name}${f.detail ? `: ${f.detail}` : ''}`);
          if (!f.ok) failed++;
        }
        return missing.length + failed;
      });
      if (problems > 0) {
        console.log(
          `${problems} vấn đề; chạy \`npx hailong db indexes\` cho chỉ mục thiếu / ${problems} problem(s); run \`npx hailong db indexes\` for missing indexes`,
        );
        process.exitCode = 1;
      }
    });
  cmd
    .command('dump <dir>')
    .description('Sao lưu mọi bộ sưu tập (EJSON) / dump every collection as Extended JSON')
    .action(async (dir: string) => {
      const m = await withMongo(() => dumpDatabase(dir));
      const total = Object.values(m.collections).reduce((a, b) => a + b, 0);
      console.log(
        `Đã sao lưu ${total} tài liệu, ${Object.keys(m.collections).length} bộ sưu tập vào ${dir} / dumped`,
      );
    });
  cmd
    .command('restore <dir>')
    .description('Khôi phục từ bản sao lưu / restore a dump')
    .option('--drop', 'xóa bộ sưu tập hiện có trước / drop existing collections first')
    .action(async (dir: string, opts: { drop?: boolean }) => {
      const counts = await withMongo(() => restoreDatabase(dir, { drop: opts.drop === true }));
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(`Đã khôi phục ${total} tài liệu, ${Object.keys(counts).length} bộ sưu tập / restored`);
    });
}
