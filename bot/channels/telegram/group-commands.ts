import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import { classifyTelegramError } from './errors';
import { toGroupUpdate, type GroupUpdate } from './update-mapper';

/** Which report a `/baocao` asks for: today so far (default) or yesterday (`/baocao homqua`). */
export type ReportDay = 'today' | 'yesterday';

export type InlineKeyboard = Array<Array<{ text: string; callback_data: string }>>;

/** What a button press or a reply in a unit group leads to; the handler makes the Telegram calls. */
export interface GroupReaction {
  /** The button press's answer (a short notice to whoever pressed). */
  answer?: string;
  /** The pressed message's new buttons: null removes them, undefined leaves them. */
  keyboard?: InlineKeyboard | null;
  /** Messages to post in the group; `forceReply` opens the reply field. */
  post?: Array<{ text: string; forceReply?: boolean }>;
}

/** Case handling and group connection (workers/aggregation/cases/group-actions.ts). */
export interface GroupCaseActions {
  button(p: { chatId: string; fromId: number; data: string }): Promise<GroupReaction>;
  /** Null when the replied message names no case. */
  reply(p: {
    chatId: string;
    fromId: number;
    text: string;
    repliedText: string;
  }): Promise<GroupReaction | null>;
  /** `/ketnoi CODE`: the answer to post. */
  connect(p: { chatId: string; fromId: number; code: string }): Promise<string>;
}

export interface GroupCommandDeps {
  telegram: Pick<Telegram, 'sendMessage' | 'answerCbQuery' | 'editMessageReplyMarkup'>;
  log: Logger;
  /** Commands addressed to another bot (`/baocao@other`) are left alone. */
  botUsername?: string;
  /** Our bot's user id: a reply to one of its messages may be about a case. */
  botId?: number;
  /** The unit digest for a group, or null when the group is no unit's alert group. */
  reportFor(chatId: string, day: ReportDay, now: Date): Promise<string | null>;
  cases?: GroupCaseActions;
  now?: () => Date;
}

export const REFUSAL =
  'Xin lỗi, nhóm này chưa được đăng ký nhận báo cáo của đơn vị nào. Vui lòng liên hệ quản trị hệ thống.\n' +
  'Sorry, this group is not registered for any unit’s reports.';

const CONNECT_USAGE =
  'Cú pháp: /ketnoi <mã kết nối> (mã do quản trị viên tạo bằng hailong unit connect-telegram). / Usage: /ketnoi <code>';
const YESTERDAY = new Set(['homqua', 'hôm qua', 'hom qua', 'yesterday']);

/**
 * Unit groups, apart from the citizens' survey: `/baocao` in the group registered as a unit's
 * alert group (Unit.alertTelegramChatId) gets that unit's digest, in any other group a short
 * refusal; `/ketnoi CODE` connects the group to a unit; the buttons of case alerts and replies
 * to the bot's case messages handle cases. Returns true when the update was the groups' (every
 * button press in a group is answered here; the survey turn handler ignores group chats).
 * Runs from the update inbox, so the webhook has already answered 200; a transient failure
 * throws and the inbox applies the update again (the actions are idempotent).
 */
export function createGroupCommandHandler(deps: GroupCommandDeps) {
  const now = deps.now ?? (() => new Date());
  const { telegram, log } = deps;

  /** False when the group is gone (the bot was removed): nothing to answer to, and retrying cannot help. */
  async function post(chatId: string, text: string, forceReply = false): Promise<boolean> {
    try {
      await telegram.sendMessage(
        chatId,
        text,
        forceReply
          ? { reply_markup: { force_reply: true, input_field_placeholder: 'Lý do đóng phiếu' } }
          : {},
      );
      return true;
    } catch (err) {
      if (classifyTelegramError(err).kind === 'dead') return false;
      throw err;
    }
  }

  async function react(chatId: string, r: GroupReaction, updateId: number): Promise<void> {
    for (const m of r.post ?? []) {
      if (!(await post(chatId, m.text, m.forceReply))) {
        log.info({ update: updateId }, 'group gone before the answer was sent');
        return;
      }
    }
  }

  async function command(g: Extract<GroupUpdate, { kind: 'command' }>, updateId: number): Promise<void> {
    if (g.name === 'baocao') {
      const day: ReportDay = g.arg && YESTERDAY.has(g.arg) ? 'yesterday' : 'today';
      const text = (await deps.reportFor(g.chatId, day, now())) ?? REFUSAL;
      if (await post(g.chatId, text))
        log.info({ update: updateId, day, known: text !== REFUSAL }, 'group report');
      else log.info({ update: updateId }, 'group gone before the report was sent');
      return;
    }
    if (!deps.cases) return;
    const text =
      g.arg && g.fromId !== null
        ? await deps.cases.connect({ chatId: g.chatId, fromId: g.fromId, code: g.arg })
        : CONNECT_USAGE;
    await react(g.chatId, { post: [{ text }] }, updateId);
  }

  async function button(g: Extract<GroupUpdate, { kind: 'button' }>, updateId: number): Promise<void> {
    const r: GroupReaction = deps.cases ? await deps.cases.button(g) : {};
    try {
      await telegram.answerCbQuery(g.callbackId, r.answer ? r.answer.slice(0, 200) : undefined);
    } catch (err) {
      // A replayed update answers an already-answered query: Telegram refuses, nothing to do.
      log.debug({ update: updateId, err: (err as Error).message }, 'answerCallbackQuery refused');
    }
    if (r.keyboard !== undefined) {
      try {
        await telegram.editMessageReplyMarkup(g.chatId, g.messageId, undefined, {
          inline_keyboard: r.keyboard ?? [],
        });
      } catch (err) {
        // "message is not modified" on a replay, or the message was deleted: the buttons stay as they are.
        log.debug({ update: updateId, err: (err as Error).message }, 'editMessageReplyMarkup refused');
      }
    }
    await react(g.chatId, r, updateId);
  }

  return async function handleGroupUpdate(update: Update): Promise<boolean> {
    const g = toGroupUpdate(update, {
      ...(deps.botUsername ? { botUsername: deps.botUsername } : {}),
      ...(deps.botId !== undefined ? { botId: deps.botId } : {}),
    });
    if (!g) return false;
    if (g.kind === 'command') await command(g, update.update_id);
    else if (g.kind === 'button') await button(g, update.update_id);
    else if (deps.cases) {
      const r = await deps.cases.reply(g);
      if (r) await react(g.chatId, r, update.update_id);
    }
    return true;
  };
}
