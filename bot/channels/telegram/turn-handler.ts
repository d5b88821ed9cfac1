import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import type { ConversationService } from '../../conversation/service';
import { textLostNotice, type ReplayMark } from './dead-letters';
import { classifyTelegramError } from './errors';
import { keyboard, renderOutbound } from './reply-renderer';
import type { SentMarks } from './sent-marks';
import { callbackQueryOf, toInboundEvent } from './update-mapper';

/**
 * Applies one Telegram update: maps it, runs the conversation turn, answers the button press,
 * updates the pressed message's buttons and sends the replies. The update inbox calls this in
 * update_id order per chat; it throws only for transient failures, which the inbox retries.
 *
 * A retry of an update whose turn was applied gets the turn's kept reply from the conversation
 * service (`replayed`) and sends the messages not yet delivered (`SentMarks`): a reply is never
 * lost to a failed send. An update an operator replayed from a dead letter without its text
 * (`hailong_replay.textLost`) tells the citizen so before the question they are asked again.
 */
export function createTelegramTurnHandler(deps: {
  telegram: Telegram;
  service: ConversationService;
  sentMarks: SentMarks;
  log: Logger;
}) {
  const { telegram, service, sentMarks, log } = deps;

  async function answerCallback(id: string, text?: string): Promise<void> {
    try {
      await telegram.answerCbQuery(id, text && text.length > 0 ? text.slice(0, 200) : undefined);
    } catch (err) {
      // A replayed turn answers an already-answered query: Telegram refuses, nothing to do.
      log.debug({ err: (err as Error).message }, 'answerCallbackQuery refused');
    }
  }

  return async function handleUpdate(update: Update): Promise<void> {
    const replay = (update as Update & ReplayMark).hailong_replay;
    const ev = toInboundEvent(update);
    const cq = callbackQueryOf(update);
    if (!ev) {
      if (cq && !replay) await answerCallback(cq.id);
      return;
    }
    const reply = await service.handle(ev);
    if (cq) {
      // A dead letter's button press is long expired at Telegram: nothing to answer.
      if (!replay) await answerCallback(cq.id, reply.ack);
      if (reply.updateChoices !== undefined && cq.chatId !== null && cq.messageId !== null) {
        const markup = reply.updateChoices === null ? { inline_keyboard: [] } : keyboard(reply.updateChoices);
        try {
          await telegram.editMessageReplyMarkup(cq.chatId, cq.messageId, undefined, markup);
        } catch (err) {
          log.debug(
            { update: update.update_id, err: (err as Error).message },
            'editMessageReplyMarkup refused',
          );
        }
      }
    }
    const messages = reply.messages.map(renderOutbound);
    // (On a retry of this replay too, so the sent marks count the same messages.)
    if (replay?.textLost && messages.length > 0) messages.unshift({ text: textLostNotice(reply.lang) });
    let sent = reply.replayed ? await sentMarks.get(ev.userId, update.update_id) : 0;
    try {
      for (; sent < messages.length; sent++) {
        const r = messages[sent]!;
        await telegram.sendMessage(ev.userId, r.text, r.reply_markup ? { reply_markup: r.reply_markup } : {});
      }
    } catch (err) {
      if (classifyTelegramError(err).kind === 'dead') {
        await service.markUnreachable('telegram', ev.userId);
        log.info({ update: update.update_id }, 'recipient blocked the bot; contact unsubscribed');
        return;
      }
      // Kept for the retry, which sends the rest (if Redis fails too, it sends them all again).
      await sentMarks.set(ev.userId, update.update_id, sent).catch(() => undefined);
      log.warn(
        { update: update.update_id, sent, of: messages.length },
        'reply not delivered: the retry sends the rest',
      );
      throw err;
    }
  };
}
