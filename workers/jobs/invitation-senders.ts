import type { Redis } from 'ioredis';
import type { Env } from '../../config/env';
import type { Lang } from '../../bot/flow/schema';
import { classifyTelegramError } from '../../bot/channels/telegram/errors';
import { ZaloProactiveSender, type ZaloProactiveOptions } from '../../bot/channels/zalo/proactive';
import type { Logger } from '../../lib/logger';
import type { InvitationMessage } from '../../bot/survey/invitation-text';

/**
 * How a channel delivers an invitation or reminder. `unreachable` is permanent for this contact
 * (no account, outside a window): the next channel of the fallback order is tried. `blocked` is
 * the same, and the platform said the user blocked the bot or is gone: the contact is also
 * marked blocked and unsubscribed, as a broadcast or a reply would mark it.
 * A transient failure (unreachable platform, 5xx, 429) throws, and the job retries with backoff.
 */
export type SendOutcome = 'sent' | 'unreachable' | 'blocked';
/** A chat contact (channelUserId) or, for Zalo ZNS, the plain phone (used for this send only). */
export interface Recipient {
  lang: Lang;
  dossierCode: string;
  channelUserId?: string;
  phone?: string;
}
export interface InvitationSender {
  send(to: Recipient, msg: InvitationMessage): Promise<SendOutcome>;
}

/** The part of telegraf's `Telegram` (or bot/channels/telegram/api-client.ts) we use. */
export interface TelegramSendApi {
  sendMessage(chatId: string | number, text: string, extra?: Record<string, unknown>): Promise<unknown>;
}

export function telegramInvitationSender(telegram: TelegramSendApi): InvitationSender {
  return {
    async send(to, msg) {
      if (!to.channelUserId) return 'unreachable';
      try {
        await telegram.sendMessage(to.channelUserId, msg.text, {
          reply_markup: { inline_keyboard: [[{ text: msg.buttonLabel, url: msg.url }]] },
        });
        return 'sent';
      } catch (err) {
        // Gone (blocked, deactivated, unknown chat) or refused: this channel cannot reach the
        // citizen; unreachable, 5xx or 429: the job retries.
        const f = classifyTelegramError(err);
        if (f.kind === 'dead') return 'blocked';
        if (f.kind === 'refused') return 'unreachable';
        throw err;
      }
    },
  };
}

/** The part of bot/channels/zalo/proactive.ts's ZaloProactiveSender we use. */
export interface ZaloSendApi {
  send(inv: {
    userId?: string | null;
    phone?: string | null;
    messages: Array<{ kind: 'text'; text: string }>;
    vars: Record<string, string>;
    dossierCode?: string | null;
  }): Promise<{ status: string; reason?: string; code?: number }>;
}

/** The Zalo answer as an outcome: refusals move on to the next channel, a hold retries. */
function zaloOutcome(
  r: { status: string; reason?: string; code?: number },
  channel: 'zalo' | 'zns',
  log?: Logger,
): SendOutcome {
  if (r.status === 'sent') return 'sent';
  // held: a template waits out Zalo's quiet hours; the job retries (and waits for morning).
  if (r.status === 'held') throw new Error(`${channel} send held until the end of quiet hours`);
  // failed (a permanent refusal: no template outside the 7-day window, template refused…),
  // skipped (unsubscribed/blocked), no_zalo_account (-118): this channel cannot reach the citizen.
  log?.info({ channel, status: r.status, reason: r.reason, code: r.code }, 'zalo invitation not sent');
  return 'unreachable';
}

/**
 * Zalo OA by user id: a consultation message inside the 7-day window, else the rating template
 * by user id when that is configured; anything else is the next channel's turn.
 */
export function zaloInvitationSender(zalo: ZaloSendApi, log?: Logger): InvitationSender {
  return {
    async send(to, msg) {
      if (!to.channelUserId) return 'unreachable';
      const r = await zalo.send({
        userId: to.channelUserId,
        messages: [{ kind: 'text', text: `${msg.text}\n${msg.buttonLabel}: ${msg.url}` }],
        vars: msg.vars,
        dossierCode: to.dossierCode,
      });
      return zaloOutcome(r, 'zalo', log);
    },
  };
}

/**
 * Zalo ZNS by phone: the approved ZNS template (ZALO_ZNS_TEMPLATE_ID) through the business
 * template-by-phone call. -118 (no Zalo account) and other refusals are 'unreachable'.
 */
export function znsInvitationSender(zalo: ZaloSendApi, log?: Logger): InvitationSender {
  return {
    async send(to, msg) {
      if (!to.phone) return 'unreachable';
      const r = await zalo.send({
        phone: to.phone,
        messages: [],
        vars: msg.vars,
        dossierCode: to.dossierCode,
      });
      return zaloOutcome(r, 'zns', log);
    },
  };
}

/**
 * The proactive sender ZNS invitations go through: the Zalo channel's own client (tokens, rate
 * limit, errors by cause) with the ZNS template, by phone only, never by user id.
 */
export function znsProactiveSender(
  ctx: {
    redis: Redis;
    prefix: string;
    log: Logger;
    env: Pick<
      Env,
      | 'ZALO_ZNS_TEMPLATE_ID'
      | 'ZALO_ZNS_TEMPLATE_PARAMS'
      | 'ZALO_TEMPLATE_MODE'
      | 'ZALO_CS_WINDOW_H'
      | 'QUIET_HOURS_START'
      | 'QUIET_HOURS_END'
    >;
  },
  client: ZaloProactiveOptions['client'],
  now?: () => number,
): ZaloProactiveSender {
  const e = ctx.env;
  return new ZaloProactiveSender({
    client,
    redis: ctx.redis,
    prefix: ctx.prefix,
    log: ctx.log,
    csWindowMs: e.ZALO_CS_WINDOW_H * 3600_000,
    ratingTemplateId: e.ZALO_ZNS_TEMPLATE_ID,
    templateByUid: false,
    templateMode: e.ZALO_TEMPLATE_MODE,
    templateParams: e.ZALO_ZNS_TEMPLATE_PARAMS,
    quietHours: { start: e.QUIET_HOURS_START, end: e.QUIET_HOURS_END },
    ...(now ? { now } : {}),
  });
}
