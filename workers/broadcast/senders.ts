import type { Telegram } from 'telegraf';
import type { SendFailure } from '../../bot/channels/send-failure';
import { classifyTelegramError } from '../../bot/channels/telegram/errors';
import type { ZaloButton, ZaloClient } from '../../bot/channels/zalo/client';
import { classifyZaloError } from '../../bot/channels/zalo/errors';
import type { BroadcastChannel } from '../../models/broadcast';
import { STOP_CALLBACK, type RenderedMessage } from './render';

/**
 * The channel seam of the send path: one sender per channel turns a rendered message into one
 * platform call, and its channel's classifier sorts the failure by cause, so the delivery worker
 * never sees a platform's error types. Adding a channel is one more class here.
 */
export type { SendFailure };

export class BroadcastSendError extends Error {
  constructor(readonly failure: SendFailure) {
    super(`broadcast send failed: ${failure.kind} ${'reason' in failure ? failure.reason : ''}`.trim());
    this.name = 'BroadcastSendError';
  }
}

export interface BroadcastSender {
  readonly channel: BroadcastChannel;
  /** Sends; throws BroadcastSendError on failure. */
  send(channelUserId: string, message: RenderedMessage): Promise<void>;
}

export class TelegramBroadcastSender implements BroadcastSender {
  readonly channel = 'telegram' as const;

  /**
   * `telegram` must be made with waitOnRateLimit: false: a 429 comes back at once and the worker
   * pauses the whole channel instead of one job sleeping while others keep sending.
   */
  constructor(
    private readonly telegram: Telegram,
    private readonly opts: { paidBroadcast: boolean },
  ) {}

  async send(chatId: string, m: RenderedMessage): Promise<void> {
    const reply_markup = {
      inline_keyboard: [
        ...m.links.map((l) => [{ text: l.text, url: l.url }]),
        [{ text: m.stopButton, callback_data: STOP_CALLBACK }],
      ],
    };
    // telegraf 4.16 types predate allow_paid_broadcast (Bot API 7.11); the payload is sent as is.
    const paid = this.opts.paidBroadcast ? ({ allow_paid_broadcast: true } as object) : {};
    try {
      if (m.imageUrl)
        await this.telegram.sendPhoto(chatId, m.imageUrl, {
          caption: m.html,
          parse_mode: 'HTML',
          reply_markup,
          ...paid,
        });
      else await this.telegram.sendMessage(chatId, m.html, { parse_mode: 'HTML', reply_markup, ...paid });
    } catch (err) {
      throw new BroadcastSendError(classifyTelegramError(err));
    }
  }
}

/**
 * Zalo: consultation (CS) messages only, to users who interacted within the window (targeting
 * already leaves the others out); see docs/broadcasts.md for why not templates or v2 broadcast.
 */
export class ZaloBroadcastSender implements BroadcastSender {
  readonly channel = 'zalo' as const;

  constructor(private readonly client: Pick<ZaloClient, 'sendCs' | 'sendImage'>) {}

  async send(userId: string, m: RenderedMessage): Promise<void> {
    const buttons: ZaloButton[] = [
      ...m.links.map((l) => ({
        title: l.text.slice(0, 100),
        type: 'oa.open.url' as const,
        payload: { url: l.url },
      })),
      // The inbound mapper reads "/stop" as the stop command, like a typed one.
      { title: m.stopButton, type: 'oa.query.hide', payload: '/stop' },
    ];
    try {
      if (m.imageUrl) await this.client.sendImage(userId, { url: m.imageUrl });
      await this.client.sendCs(userId, {
        text: m.plain,
        attachment: { type: 'template', payload: { buttons } },
      });
    } catch (err) {
      throw new BroadcastSendError(classifyZaloError(err));
    }
  }
}
