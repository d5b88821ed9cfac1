import type { Command } from 'commander';
import { auditCsv } from '../../lib/audit/csv';
import { verifyAuditChain } from '../../lib/audit/verify';
import { AuditLog } from '../../models/audit-log';
import { withDb } from './apikey';

const PROBLEM_VI = {
  unchained: 'mục không nằm trong chuỗi / entry outside the chain',
  gap: 'thiếu mục (số thứ tự nhảy) / entries missing (seq jumps)',
  broken_link: 'prevHash không khớp mục trước / prevHash does not match the previous entry',
  hash_mismatch: 'nội dung đã bị sửa (hash không khớp) / the entry was edited (hash mismatch)',
} as const;

/**
 * `hailong audit verify`: checks the audit log's hash chain; exit 1 naming the first entry that
 * does not match. `hailong audit export`: the whole log as CSV on stdout (with the hashes).
 */
export function registerAuditCommands(program: Command): void {
  const cmd = program.command('audit').description('Nhật ký kiểm toán / the audit log');

  cmd
    .command('verify')
    .description('Kiểm tra chuỗi băm / check the hash chain')
    .action(async () => {
      await withDb(async () => {
        const r = await verifyAuditChain();
        if (r.ok) {
          const head = r.head ? `seq ${r.head.seq}, hash ${r.head.hash}` : 'trống / empty';
          console.log(`OK: ${r.checked} mục khớp chuỗi / entries verified; mới nhất / head: ${head}`);
          return;
        }
        const b = r.firstBreak!;
        console.error(
          `HỎNG / BROKEN: mục đầu tiên không khớp / first entry that does not match: ` +
            `${b.seq === null ? '(no seq)' : `seq ${b.seq}`} (id ${b.id}, expected seq ${b.expectedSeq}): ${PROBLEM_VI[b.problem]}. ` +
            `${r.checked} mục trước đó khớp / entries before it verified.`,
        );
        process.exitCode = 1;
      });
    });

  cmd
    .command('export')
    .description('Xuất nhật ký CSV ra stdout / the audit log as CSV on stdout')
    .action(async () => {
      await withDb(async () => {
        process.stdout.write(auditCsv(await AuditLog.find({}).sort({ seq: 1 }).lean()));
      });
    });
}
