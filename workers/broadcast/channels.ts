import type { AppContext } from '../../lib/app-context';
import { createTelegramClient } from '../../bot/channels/telegram/api-client';
import type { ZaloClient } from '../../bot/channels/zalo/client';
import type { BroadcastChannel } from '../../models/broadcast';
import { TelegramBroadcastSender, ZaloBroadcastSender, type BroadcastSender } from './senders';

/**
 * The senders of the configured channels. Telegram gets its own client with
 * waitOnRateLimit: false (a 429 pauses the channel's queue instead of one job sleeping) and no
 * inline retries (BullMQ retries with backoff; every call is one rate slot). Zalo reuses the channel's client, whose limiter
 * is shared with conversations.
 */
export function broadcastSenders(
  ctx: AppContext,
  opts: { zaloClient?: Pick<ZaloClient, 'sendCs' | 'sendImage'> | null } = {},
): Partial<Record<BroadcastChannel, BroadcastSender>> {
  const senders: Partial<Record<BroadcastChannel, BroadcastSender>> = {};
  const e = ctx.env;
  if (e.TELEGRAM_BOT_TOKEN) {
    const telegram = createTelegramClient({
      token: e.TELEGRAM_BOT_TOKEN,
      apiRoot: e.TELEGRAM_API_ROOT,
      // No inline retries: each platform call must hold its own rate slot (BullMQ retries).
      maxRetries: 0,
      maxRetryAfterS: e.TELEGRAM_MAX_RETRY_AFTER_S,
      waitOnRateLimit: false,
      stopSignal: ctx.stopSignal,
      log: ctx.log.child({ channel: 'telegram', part: 'broadcast' }),
    });
    senders.telegram = new TelegramBroadcastSender(telegram, { paidBroadcast: e.TELEGRAM_PAID_BROADCAST });
  }
  if (opts.zaloClient) senders.zalo = new ZaloBroadcastSender(opts.zaloClient);
  return senders;
}
