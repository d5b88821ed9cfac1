import type { Lang } from '../../bot/flow/schema';
import type { InvitationMessage } from '../../bot/survey/invitation-text';

/**
 * How a channel delivers an invitation or reminder. `unreachable` is permanent for this contact
 * (blocked the bot, chat gone, no account): the next channel of the fallback order is tried.
 * A transient failure (unreachable platform, 5xx, 429) throws, and the job retries with backoff.
 */
export type SendOutcome = 'sent' | 'unreachable';
export interface InvitationSender {
  send(to: { channelUserId: string; lang: Lang }, msg: InvitationMessage): Promise<SendOutcome>;
}

/** The part of telegraf's `Telegram` (or bot/channels/telegram/api-client.ts) we use. */
export interface TelegramSendApi {
  sendMessage(chatId: string | number, text: string, extra?: Record<string, unknown>): Promise<unknown>;
}

function telegramCode(err: unknown): { code: number; description: string } | null {
  const e = err as {
    code?: unknown;
    response?: { error_code?: unknown; description?: unknown };
    description?: unknown;
  };
  const code =
    typeof e.response?.error_code === 'number'
      ? e.response.error_code
      : typeof e.code === 'number'
        ? e.code
        : null;
  if (code === null) return null;
  const d = e.response?.description ?? e.description;
  const description = typeof d === 'string' ? d : '';
  return { code, description };
}

export function telegramInvitationSender(telegram: TelegramSendApi): InvitationSender {
  return {
    async send(to, msg) {
      try {
        await telegram.sendMessage(to.channelUserId, msg.text, {
          reply_markup: { inline_keyboard: [[{ text: msg.buttonLabel, url: msg.url }]] },
        });
        return 'sent';
      } catch (err) {
        const t = telegramCode(err);
        // 403: blocked or deactivated; 400 "chat not found": the chat is gone. Both are permanent.
        if (
          t &&
          (t.code === 403 || (t.code === 400 && /chat not found|user is deactivated/i.test(t.description)))
        )
          return 'unreachable';
        throw err;
      }
    },
  };
}

/** The part of bot/channels/zalo/proactive.ts's ZaloProactiveSender we use. */
export interface ZaloSendApi {
  send(inv: {
    userId?: string | null;
    messages: Array<{ kind: 'text'; text: string }>;
    vars: Record<string, string>;
    dossierCode?: string | null;
  }): Promise<{ status: string; reason?: string }>;
}

export function zaloInvitationSender(
  zalo: ZaloSendApi,
  vars: (msg: InvitationMessage) => Record<string, string> = () => ({}),
): InvitationSender {
  return {
    async send(to, msg) {
      const r = await zalo.send({
        userId: to.channelUserId,
        messages: [{ kind: 'text', text: `${msg.text}\n${msg.buttonLabel}: ${msg.url}` }],
        vars: vars(msg),
      });
      if (r.status === 'sent') return 'sent';
      if (r.status === 'failed') throw new Error(`zalo send failed: ${r.reason ?? 'unknown'}`);
      // skipped (unsubscribed/blocked), no_zalo_account, held (template waits out quiet hours: we
      // already only send outside them, so a hold means the template path is not usable now).
      return 'unreachable';
    },
  };
}
