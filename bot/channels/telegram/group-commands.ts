import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import { isDeadRecipient } from './errors';
import { toGroupCommand } from './update-mapper';

/** Which report a `/baocao` asks for: today so far (default) or yesterday (`/baocao homqua`). */
export type ReportDay = 'today' | 'yesterday';

export interface GroupCommandDeps {
  telegram: Pick<Telegram, 'sendMessage'>;
  log: Logger;
  /** Commands addressed to another bot (`/baocao@other`) are left alone. */
  botUsername?: string;
  /** The unit digest for a group, or null when the group is no unit's alert group. */
  reportFor(chatId: string, day: ReportDay, now: Date): Promise<string | null>;
  now?: () => Date;
}

export const REFUSAL =
  'Xin lỗi, nhóm này chưa được đăng ký nhận báo cáo của đơn vị nào. Vui lòng liên hệ quản trị hệ thống.\n' +
  'Sorry, this group is not registered for any unit’s reports.';

const YESTERDAY = new Set(['homqua', 'hôm qua', 'hom qua', 'yesterday']);

/**
 * Commands in unit groups, apart from the citizens' survey: `/baocao` in the group registered as a
 * unit's alert group (Unit.alertTelegramChatId) gets that unit's digest; in any other group a
 * short refusal and nothing else. Returns true when the update was such a command (the survey
 * turn handler ignores group chats anyway). Runs from the update inbox, so the webhook has
 * already answered 200.
 */
export function createGroupCommandHandler(deps: GroupCommandDeps) {
  const now = deps.now ?? (() => new Date());
  return async function handleGroupCommand(update: Update): Promise<boolean> {
    const cmd = toGroupCommand(update, deps.botUsername);
    if (!cmd) return false;
    const day: ReportDay = cmd.arg && YESTERDAY.has(cmd.arg) ? 'yesterday' : 'today';
    const text = (await deps.reportFor(cmd.chatId, day, now())) ?? REFUSAL;
    try {
      await deps.telegram.sendMessage(cmd.chatId, text);
    } catch (err) {
      // Removed from the group meanwhile: nothing to answer to, and retrying cannot help.
      if (isDeadRecipient(err)) {
        deps.log.info({ update: update.update_id }, 'group gone before the report was sent');
        return true;
      }
      throw err;
    }
    deps.log.info({ update: update.update_id, day, known: text !== REFUSAL }, 'group report');
    return true;
  };
}
