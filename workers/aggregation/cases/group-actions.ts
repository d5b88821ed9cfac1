import type { RedisClient } from '../../../lib/redis';
import type { GroupCaseActions, GroupReaction } from '../../../bot/channels/telegram/group-commands';
import type { Logger } from '../../../lib/logger';
import { formatDateTime } from '../../../lib/time';
import { Case } from '../../../models/case';
import { Unit } from '../../../models/unit';
import { jobId } from '../../job-id';
import type { JobProducer } from '../../producer';
import { redeemConnectCode } from './alert-group';
import {
  alertKeyboard,
  caseIdInText,
  decodeCaseButton,
  REASON_PROMPT_HEAD,
  reasonPromptText,
  resolutionKeyboard,
} from './case-buttons';
import { acknowledgeCase, addCaseNote, CaseInputError, closeCase, type CloseReason } from './handling';
import { resolutionOf } from '../../../lib/case-resolutions';

/**
 * What officials do in their unit's Telegram group, as the group handler
 * (bot/channels/telegram/group-commands.ts) reports it: a button of a case alert, a reply to one
 * of the bot's case messages, `/ketnoi CODE`. Each returns what to show; the handler makes the
 * Telegram calls. Only the group connected to the case's unit (or to the unit it was escalated
 * to) may act on a case; the official is recorded by Telegram user id (`tg:<id>`), never by name.
 */
export const NOT_ALLOWED =
  'Nhóm này không phụ trách phiếu này, không thể xử lý. / This group is not in charge of this case.';
const GONE = 'Không tìm thấy phiếu. / Case not found.';
const ALREADY_CLOSED = 'Phiếu đã đóng. / The case is already closed.';

export interface GroupActionDeps {
  redis: RedisClient;
  prefix: string;
  producer: Pick<JobProducer, 'add' | 'addByName'>;
  log: Logger;
  now?: () => Date;
}

/** The closing follow-up of a case: one per case, whoever queues it (a retried close queues the same job). */
export const followUpJobId = (caseId: string): string => jobId('fu-close', caseId);
/** A message to the citizen of a case: each one its own job. */
export const followUpMessageJobId = (caseId: string, at: Date = new Date()): string =>
  jobId('fu-msg', caseId, at.getTime().toString(36));

type CaseLean = NonNullable<Awaited<ReturnType<typeof caseById>>>;
const caseById = (id: string) => Case.findById(id, { log: 0 }).lean();

/** The groups in charge of a case: its unit's, and the one it was escalated to. */
async function inCharge(chatId: string, c: Pick<CaseLean, 'unitCode' | 'escalatedTo'>): Promise<boolean> {
  for (const code of new Set([c.unitCode, c.escalatedTo].filter((x): x is string => !!x))) {
    const u = await Unit.findOne({ code }, { _id: 0, alertTelegramChatId: 1 }).lean();
    if (u?.alertTelegramChatId === chatId) return true;
  }
  return false;
}

export function createCaseGroupActions(deps: GroupActionDeps): GroupCaseActions {
  const now = deps.now ?? (() => new Date());

  /** Closes, and queues the citizen's follow-up whenever one is pending (a retried update queues the same job id). */
  async function close(
    c: Pick<CaseLean, 'caseId'>,
    by: string,
    reason: CloseReason,
    chatId: string,
  ): Promise<GroupReaction> {
    const at = now();
    const r = await closeCase(c.caseId, by, reason, {
      followUp: true,
      now: at,
      rollups: {
        redis: deps.redis,
        prefix: deps.prefix,
        enqueue: async (name, payload, o) => void (await deps.producer.addByName(name, payload, o)),
      },
    });
    if (r.followUpPending)
      await deps.producer.add(
        'case.follow_up',
        { caseId: c.caseId, by, kind: 'close', reportTo: chatId },
        { jobId: followUpJobId(c.caseId) },
      );
    if (!r.closed) return { answer: ALREADY_CLOSED, keyboard: null };
    deps.log.info({ caseId: c.caseId, onTime: r.onTime }, 'case closed from the unit group');
    const what =
      'resolution' in reason ? resolutionOf(reason.resolution)!.label.vi : 'lý do khác (đã ghi vào phiếu)';
    return {
      answer: 'Đã đóng phiếu. / Case closed.',
      keyboard: null,
      post: [
        {
          text: `✔️ Đã đóng phiếu ${c.caseId} lúc ${formatDateTime(at)} (${r.onTime ? 'đúng hạn' : 'quá hạn'}). Kết quả: ${what}. Đang nhắn công dân…\nCase closed ${r.onTime ? 'on time' : 'late'}; messaging the citizen…`,
        },
      ],
    };
  }

  return {
    async button(p: { chatId: string; fromId: number; data: string }): Promise<GroupReaction> {
      const b = decodeCaseButton(p.data);
      if (!b) return { answer: 'Nút này không còn hiệu lực. / This button is no longer valid.' };
      const c = await caseById(b.id);
      if (!c) return { answer: GONE, keyboard: null };
      if (!(await inCharge(p.chatId, c))) {
        deps.log.info(
          { caseId: c.caseId, action: b.action },
          'case button from a group not in charge: refused',
        );
        return { answer: NOT_ALLOWED };
      }
      const by = `tg:${p.fromId}`;
      if (c.status === 'closed' && b.action !== 'resolve') return { answer: ALREADY_CLOSED, keyboard: null };
      switch (b.action) {
        case 'ack': {
          const r = await acknowledgeCase(c.caseId, by, now());
          if (r === 'closed') return { answer: ALREADY_CLOSED, keyboard: null };
          if (r === 'already')
            return {
              answer: 'Phiếu đã được tiếp nhận trước đó. / Already acknowledged.',
              keyboard: alertKeyboard(b.id, true),
            };
          deps.log.info({ caseId: c.caseId }, 'case acknowledged from the unit group');
          return {
            answer: 'Đã ghi nhận tiếp nhận. / Acknowledged.',
            keyboard: alertKeyboard(b.id, true),
            post: [
              {
                text: `✅ Phiếu ${c.caseId} đã được tiếp nhận lúc ${formatDateTime(now())}. / Case acknowledged.`,
              },
            ],
          };
        }
        case 'close':
          return {
            answer: 'Chọn kết quả xử lý. / Choose the resolution.',
            keyboard: resolutionKeyboard(b.id),
          };
        case 'back':
          return { answer: '', keyboard: alertKeyboard(b.id, c.status === 'in_progress') };
        case 'other':
          return {
            answer: 'Trả lời tin nhắn bên dưới bằng lý do. / Reply below with the reason.',
            post: [{ text: reasonPromptText(c.caseId), forceReply: true }],
          };
        case 'resolve':
          if (!resolutionOf(b.resolution))
            return { answer: 'Nút này không còn hiệu lực. / This button is no longer valid.' };
          return close(c, by, { resolution: b.resolution }, p.chatId);
      }
    },

    /** A reply to a bot message naming a case: to the reason prompt, closes; to the alert, a note. Null when it names none. */
    async reply(p: {
      chatId: string;
      fromId: number;
      text: string;
      repliedText: string;
    }): Promise<GroupReaction | null> {
      const caseId = caseIdInText(p.repliedText);
      if (!caseId) return null;
      const c = await Case.findOne({ caseId }, { log: 0 }).lean();
      if (!c) return { post: [{ text: GONE }] };
      if (!(await inCharge(p.chatId, c))) {
        deps.log.info({ caseId }, 'case reply from a group not in charge: refused');
        return { post: [{ text: NOT_ALLOWED }] };
      }
      const by = `tg:${p.fromId}`;
      try {
        if (p.repliedText.startsWith(REASON_PROMPT_HEAD)) {
          if (c.status === 'closed') return { post: [{ text: ALREADY_CLOSED }] };
          return await close(c, by, { note: p.text }, p.chatId);
        }
        await addCaseNote(caseId, by, p.text, now());
      } catch (err) {
        if (err instanceof CaseInputError)
          return { post: [{ text: `Chưa ghi được: ${err.message}. / Not recorded.` }] };
        throw err;
      }
      return { post: [{ text: `📝 Đã ghi chú vào phiếu ${caseId}. / Note added.` }] };
    },

    /** `/ketnoi CODE`: what to answer in the group. */
    async connect(p: { chatId: string; fromId: number; code: string }): Promise<string> {
      const r = await redeemConnectCode(deps.redis, deps.prefix, p.code, p.chatId, `tg:${p.fromId}`, now());
      deps.log.info(
        { status: r.status, unitCode: 'unitCode' in r ? r.unitCode : null },
        'telegram group connect',
      );
      switch (r.status) {
        case 'connected':
          return (
            `✅ Đã kết nối nhóm này với ${r.unitName} (${r.unitCode}). Nhóm sẽ nhận cảnh báo phản ánh không hài lòng và báo cáo (/baocao), và xử lý phiếu ngay tại đây.\n` +
            `This group is now connected to ${r.unitName}: it receives the unit’s alerts and reports and handles its cases here.`
          );
        case 'already':
          return `Nhóm này đã được kết nối với ${r.unitName} (${r.unitCode}). / This group is already connected to this unit.`;
        case 'taken':
          return (
            `Nhóm này đang nhận thông báo của ${r.unitName} (${r.unitCode}); mỗi nhóm chỉ phục vụ một đơn vị. Ngắt kết nối trước: hailong unit disconnect-telegram --unit ${r.unitCode}\n` +
            'This group already serves another unit; disconnect it first.'
          );
        case 'invalid':
          return (
            'Mã kết nối không đúng hoặc đã hết hạn. Tạo mã mới: hailong unit connect-telegram --unit <mã đơn vị>\n' +
            'The code is wrong or has expired; issue a new one.'
          );
      }
    },
  };
}
