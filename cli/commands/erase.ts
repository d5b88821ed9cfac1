import { type Command, Option } from 'commander';
import { env } from '../../config/env';
import { describeSubjectData, subjectData } from '../../privacy/access';
import { eraseSubject, type ErasureReport } from '../../privacy/erase';
import type { Subject } from '../../privacy/subject';
import { createProducerConnection } from '../../lib/redis';
import { UserError } from '../../lib/user-error';
import { withMongo } from './report';

interface SubjectOpts {
  phone?: string;
  channel?: 'telegram' | 'zalo' | 'web';
  user?: string;
  by?: string;
  json?: boolean;
}

const COUNTS: Array<[Exclude<keyof ErasureReport, 'erasureId'>, string]> = [
  ['contacts', 'tài khoản liên lạc / contacts'],
  ['sessions', 'lượt khảo sát gắn với người này / sessions'],
  ['freeTexts', 'ý kiến viết tay đã xóa / free-text answers blanked'],
  ['dossiers', 'hồ sơ đã gỡ số điện thoại, liên kết / dossiers unlinked'],
  ['outreachJobs', 'lời mời, nhắc nhở đang chờ đã hủy / queued invitations and reminders removed'],
  ['liveKeys', 'khóa trạng thái trực tiếp (Redis) / live-state keys deleted'],
];

function subjectOf(o: SubjectOpts): Subject {
  if (o.phone !== undefined && (o.channel !== undefined || o.user !== undefined))
    throw new UserError(
      'dùng --phone hoặc --channel với --user, không dùng cả hai',
      'give --phone, or --channel with --user, not both',
      2,
    );
  if (o.phone !== undefined) return { phone: o.phone };
  if (o.channel === undefined || o.user === undefined || o.user.trim() === '')
    throw new UserError(
      'cần --phone, hoặc --channel cùng --user',
      'give --phone, or --channel with --user',
      2,
    );
  return { channel: o.channel, userId: o.user.trim() };
}

function subjectOptions(cmd: Command): Command {
  return cmd
    .option('--phone <number>', 'số điện thoại của người yêu cầu / the requester’s phone number')
    .addOption(new Option('--channel <name>', 'kênh / channel').choices(['telegram', 'zalo', 'web']))
    .option('--user <id>', 'mã người dùng trên kênh (chat id, Zalo user id) / the channel’s user id')
    .option('--json', 'in JSON');
}

async function withRedis<T>(
  fn: (deps: {
    redis: ReturnType<typeof createProducerConnection>;
    prefix: string;
    phoneHashKey: string;
    phoneHashKeyPrevious: string | undefined;
  }) => Promise<T>,
): Promise<T> {
  const e = env();
  const redis = createProducerConnection(e);
  try {
    return await withMongo(() =>
      fn({
        redis,
        prefix: e.REDIS_PREFIX,
        phoneHashKey: e.PHONE_HASH_KEY,
        phoneHashKeyPrevious: e.PHONE_HASH_KEY_PREVIOUS,
      }),
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * `hailong erase --phone … | --channel telegram|zalo|web --user …`: a citizen's request for
 * erasure that arrives on paper or at the counter (Law 91/2025/QH15). Removes what
 * privacy/erase.ts removes, prints the counts, and leaves an audit entry (ids and counts).
 * `hailong access` with the same options prints what is held (the paper form of /dulieu).
 */
export function registerEraseCommand(program: Command): void {
  subjectOptions(
    program
      .command('erase')
      .description('Xóa dữ liệu cá nhân theo yêu cầu / erase a citizen’s personal data on request'),
  )
    .option('--by <username>', 'cán bộ thực hiện (ghi nhật ký) / the official doing it (audit log)')
    .action(async (opts: SubjectOpts) => {
      const subject = subjectOf(opts);
      const report = await withRedis((deps) => eraseSubject(subject, { ...deps, actor: opts.by ?? 'cli' }));
      if (opts.json) {
        console.log(JSON.stringify(report));
        return;
      }
      console.log(`Đã xóa / erased (mã yêu cầu / erasure id ${report.erasureId}):`);
      for (const [k, label] of COUNTS) console.log(`  ${String(report[k]).padStart(5)}  ${label}`);
      console.log(
        'Điểm đánh giá được giữ lại, không còn gắn với người này / ratings kept, no longer linked.',
      );
    });
  subjectOptions(
    program.command('access').description('Dữ liệu đang lưu về một người / what is held about a citizen'),
  ).action(async (opts: SubjectOpts) => {
    const subject = subjectOf(opts);
    const data = await withRedis((deps) => subjectData(subject, deps));
    console.log(opts.json ? JSON.stringify(data) : describeSubjectData(data));
  });
}
