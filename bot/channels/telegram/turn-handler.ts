import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import type { ConversationService } from '../../conversation/service';
import { isDeadRecipient } from './errors';
import { keyboard, renderOutbound } from './reply-renderer';
import { callbackQueryOf, toInboundEvent } from './update-mapper';

/**
 * Applies one Telegram update: maps it, runs the conversation turn, answers the button press,
 * updates the pressed message's buttons and sends the replies. The update inbox calls this in
 * update_id order per chat; it throws only for transient failures, which the inbox retries.
 */
export function createTelegramTurnHandler(deps: { telegram: Telegram; service: ConversationService; log: Logger }) {
  const { telegram, service, log } = deps;

  async function answerCallback(id: string, text?: string): Promise<void> {
    try {
      await telegram.answerCbQuery(id, text && text.length > 0 ? text.slice(0, 200) : undefined);
    } catch (err) {
      // A replayed turn answers an already-answered query: Telegram refuses, nothing to do.
      log.debug({ err: (err as Error).message }, 'answerCallbackQuery refused');
    }
  }

  return async function handleUpdate(update: Update): Promise<void> {
    const ev = toInboundEvent(update);
    const cq = callbackQueryOf(update);
    if (!ev) {
      if (cq) await answerCallback(cq.id);
      return;
    }
    const reply = await service.handle(ev);
    if (cq) {
      await answerCallback(cq.id, reply.ack);
      if (reply.updateChoices !== undefined && cq.chatId !== null && cq.messageId !== null) {
        const markup = reply.updateChoices === null ? { inline_keyboard: [] } : keyboard(reply.updateChoices);
        try {
          await telegram.editMessageReplyMarkup(cq.chatId, cq.messageId, undefined, markup);
        } catch (err) {
          log.debug({ update: update.update_id, err: (err as Error).message }, 'editMessageReplyMarkup refused');
        }
      }
    }
    try {
      for (const m of reply.messages) {
        const r = renderOutbound(m);
        await telegram.sendMessage(ev.userId, r.text, r.reply_markup ? { reply_markup: r.reply_markup } : {});
      }
    } catch (err) {
      if (isDeadRecipient(err)) {
        await service.markUnreachable('telegram', ev.userId);
        log.info({ update: update.update_id }, 'recipient blocked the bot; contact unsubscribed');
        return;
      }
      throw err;
    }
  };
}
