import os from 'node:os';
import { Job, QueueEvents } from 'bullmq';
import { InvalidArgumentError, type Command } from 'commander';
import { env } from '../../config/env';
import { createProducerConnection, createWorkerConnection } from '../../lib/redis';
import { formatDateTime, hcmMonth } from '../../lib/time';
import { Case } from '../../models/case';
import { listCases } from '../../indices/case-list';
import { followUpJobId, followUpMessageJobId } from '../../workers/aggregation/cases/group-actions';
import { followUpOutcomeText, type FollowUpResult } from '../../workers/aggregation/cases/follow-up';
import {
  acknowledgeCase,
  addCaseNote,
  CaseInputError,
  CaseNotFoundError,
  checkedNote,
  closeCase,
  parseCloseReason,
} from '../../workers/aggregation/cases/handling';
import { RESOLUTIONS } from '../../lib/case-resolutions';
import { ELEMENT_NAMES_VI } from '../../indices/formula';
import { UnitAccessError } from '../../indices/units';
import { JobProducer } from '../../workers/producer';
import { withDb } from './apikey';

/**
 * `hailong case list --unit CODE [--period P] [--status S]`, `case show ID`, `case ack ID`,
 * `case note ID --text T`, `case close ID --reason CODE|TEXT [--no-follow-up]`,
 * `case follow-up ID --text T`: the same handling as the buttons in the unit's Telegram group.
 * Prints ids, codes, scores and officials' notes only (what the unit sees), never a citizen's
 * identity. The citizen's follow-up is a job; the command waits `--wait` seconds for its outcome.
 */
const STATUSES = ['open', 'in_progress', 'closed'];
const STATUS_VI: Record<string, string> = { open: 'mới', in_progress: 'đang xử lý', closed: 'đã đóng' };

function parseStatus(v: string): string {
  if (!STATUSES.includes(v)) throw new InvalidArgumentError(`expected ${STATUSES.join(', ')}`);
  return v;
}
function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 600)
    throw new InvalidArgumentError('expected whole seconds, 0 to 600');
  return n;
}

/** Bad input and unknown ids end the command with a clear message and exit code 2; nothing changed. */
async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await withDb(fn);
  } catch (err) {
    if (
      err instanceof CaseNotFoundError ||
      err instanceof CaseInputError ||
      err instanceof UnitAccessError ||
      (err instanceof Error && /invalid period/.test(err.message))
    ) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

/** Queues the follow-up and waits up to `waitS` for its outcome. */
async function followUp(
  payload: { caseId: string; by: string } & ({ kind: 'close' } | { kind: 'message'; text: string }),
  jobId: string,
  waitS: number,
): Promise<void> {
  const e = env();
  const redis = createProducerConnection(e);
  const producer = new JobProducer(redis, e.REDIS_PREFIX);
  const blocking = waitS > 0 ? createWorkerConnection(e) : null;
  const events = blocking
    ? new QueueEvents('outbound', { connection: blocking, prefix: e.REDIS_PREFIX })
    : null;
  try {
    await events?.waitUntilReady();
    const id = await producer.add('case.follow_up', payload, { jobId });
    if (!events) return void console.log('Đã xếp hàng tin nhắn cho công dân. / Follow-up queued.');
    const job = await Job.fromId(producer.getQueue('outbound'), id);
    let result: FollowUpResult | null = null;
    try {
      result = job ? ((await job.waitUntilFinished(events, waitS * 1000)) as FollowUpResult | null) : null;
    } catch (err) {
      if (!(err instanceof Error && /timed out|timeout/i.test(err.message))) throw err;
      console.log(
        `Tin nhắn cho công dân đã xếp hàng, chưa có kết quả sau ${waitS} giây (worker chưa chạy?); xem lại: hailong case show ${payload.caseId}`,
      );
      console.log(`Follow-up queued, no outcome yet.`);
      return;
    }
    console.log(
      result
        ? followUpOutcomeText(payload.caseId, result)
        : 'Tin nhắn kết thúc phiếu đã được xử lý trước đó. / The closing follow-up was already dealt with.',
    );
  } finally {
    await producer.close();
    await events?.close();
    await blocking?.quit().catch(() => undefined);
    await redis.quit();
  }
}

export function registerCaseCommands(program: Command): void {
  const cmd = program
    .command('case')
    .description('Phiếu phản ánh không hài lòng (QĐ 766) / dissatisfaction cases');
  const by = os.userInfo().username;

  cmd
    .command('list')
    .description('Các phiếu mở trong kỳ / cases opened in a period')
    .requiredOption(
      '--unit <code>',
      'đơn vị (gồm trực thuộc và đã sáp nhập) / unit (with its subtree and predecessors)',
    )
    .option('--period <period>', 'YYYY, YYYY-Qn, YYYY-MM (mặc định tháng này / default this month)')
    .option('--status <status>', 'open | in_progress | closed', parseStatus)
    .action(async (o: { unit: string; period?: string; status?: string }) => {
      await guarded(async () => {
        const now = new Date();
        const rows = await listCases({
          unit: o.unit,
          period: o.period ?? hcmMonth(now),
          units: null,
          ...(o.status ? { status: o.status } : {}),
        });
        for (const c of rows) {
          const late = c.status !== 'closed' && c.dueAt < now ? ' QUÁ HẠN/OVERDUE' : '';
          const closed = c.closedAt
            ? ` đóng/closed ${formatDateTime(c.closedAt)} (${c.closedOnTime ? 'đúng hạn/on time' : 'quá hạn/late'})`
            : '';
          console.log(
            `${c.caseId}  ${c.status.padEnd(11)} ${c.unitCode}  ${c.dossierCode ?? '-'}  mở/opened ${formatDateTime(c.openedAt)}  hạn/due ${formatDateTime(c.dueAt)}${late}${closed}`,
          );
        }
        console.log(`${rows.length} phiếu / cases`);
      });
    });

  cmd
    .command('show <caseId>')
    .description('Chi tiết và nhật ký xử lý / details and handling log')
    .action(async (caseId: string) => {
      await guarded(async () => {
        const c = await Case.findOne({ caseId }).lean();
        if (!c) throw new CaseNotFoundError(caseId);
        console.log(`Phiếu / case ${c.caseId} — ${STATUS_VI[c.status] ?? c.status} (${c.status})`);
        console.log(
          `Hồ sơ / dossier: ${c.dossierCode ?? '-'}  Thủ tục / procedure: ${c.procedureCode ?? '-'}  Đơn vị / unit: ${c.unitCode}`,
        );
        console.log(
          `Mở / opened ${formatDateTime(c.openedAt)}  Hạn / due ${formatDateTime(c.dueAt)}${c.escalatedTo ? `  Chuyển / escalated to ${c.escalatedTo}` : ''}`,
        );
        if (c.closedAt)
          console.log(
            `Đóng / closed ${formatDateTime(c.closedAt)} (${c.closedOnTime ? 'đúng hạn / on time' : 'quá hạn / late'})${c.resolution ? `, ${c.resolution}` : ''}`,
          );
        for (const i of c.items)
          console.log(
            `• ${ELEMENT_NAMES_VI[i.element] ?? i.element}: ${i.value}/5${i.reasons.length > 0 ? ` (${i.reasons.join(', ')})` : ''}`,
          );
        for (const l of c.log)
          console.log(
            `  ${formatDateTime(l.at)}  ${l.by}  ${l.action}${l.detail ? ` [${l.detail}]` : ''}${l.note ? `: ${l.note}` : ''}`,
          );
      });
    });

  cmd
    .command('ack <caseId>')
    .description('Tiếp nhận phiếu / acknowledge')
    .option('--by <name>', 'cán bộ / official', by)
    .action(async (caseId: string, o: { by: string }) => {
      await guarded(async () => {
        const r = await acknowledgeCase(caseId, o.by);
        console.log(
          r === 'acknowledged'
            ? 'Đã tiếp nhận. / Acknowledged.'
            : r === 'already'
              ? 'Phiếu đã được tiếp nhận trước đó. / Already acknowledged.'
              : 'Phiếu đã đóng. / Already closed.',
        );
      });
    });

  cmd
    .command('note <caseId>')
    .description('Ghi chú vào phiếu / add a note')
    .requiredOption('--text <text>', 'nội dung / the note')
    .option('--by <name>', 'cán bộ / official', by)
    .action(async (caseId: string, o: { text: string; by: string }) => {
      await guarded(async () => {
        await addCaseNote(caseId, o.by, o.text);
        console.log('Đã ghi chú. / Note added.');
      });
    });

  cmd
    .command('close <caseId>')
    .description(
      `Đóng phiếu / close: --reason ${RESOLUTIONS.map((r) => r.code).join('|')} hoặc lý do tự do / or a free reason`,
    )
    .requiredOption('--reason <reason>', 'kết quả xử lý / resolution')
    .option('--by <name>', 'cán bộ / official', by)
    .option('--no-follow-up', 'không nhắn công dân / do not message the citizen')
    .option('--wait <seconds>', 'chờ kết quả gửi tin / wait for the follow-up outcome', parseSeconds, 30)
    .action(async (caseId: string, o: { reason: string; by: string; followUp: boolean; wait: number }) => {
      await guarded(async () => {
        const e = env();
        const redis = createProducerConnection(e);
        const producer = new JobProducer(redis, e.REDIS_PREFIX);
        const r = await closeCase(caseId, o.by, parseCloseReason(o.reason), {
          followUp: o.followUp,
          rollups: {
            redis,
            prefix: e.REDIS_PREFIX,
            enqueue: async (name, payload, q) => void (await producer.addByName(name, payload, q)),
          },
        }).finally(async () => {
          await producer.close();
          redis.disconnect();
        });
        console.log(
          r.closed
            ? `Đã đóng phiếu (${r.onTime ? 'đúng hạn / on time' : 'quá hạn / late'}). / Closed.`
            : 'Phiếu đã đóng trước đó. / Already closed.',
        );
        if (r.followUpPending)
          await followUp({ caseId, by: o.by, kind: 'close' }, followUpJobId(caseId), o.wait);
      });
    });

  cmd
    .command('follow-up <caseId>')
    .description('Nhắn công dân qua kênh họ đã dùng / message the citizen through their channel')
    .requiredOption('--text <text>', 'nội dung (tiếng Việt) / the message')
    .option('--by <name>', 'cán bộ / official', by)
    .option('--wait <seconds>', 'chờ kết quả gửi tin / wait for the outcome', parseSeconds, 30)
    .action(async (caseId: string, o: { text: string; by: string; wait: number }) => {
      await guarded(async () => {
        const text = checkedNote(o.text);
        if (!(await Case.exists({ caseId }))) throw new CaseNotFoundError(caseId);
        await followUp({ caseId, by: o.by, kind: 'message', text }, followUpMessageJobId(caseId), o.wait);
      });
    });
}
