import type { Redis } from 'ioredis';
import { key } from '../../../lib/redis';
import type { Logger } from '../../../lib/logger';
import { normalisePhone } from '../../../lib/phone';
import { Contact } from '../../../models/contact';
import type { Outbound } from '../../engine/types';
import type { ZaloClient } from './client';
import { markZaloContact } from './contacts';
import { classifyZaloError, ZaloApiError } from './errors';
import { quietUntil } from '../../../lib/quiet-hours';
import { renderForZalo } from './renderer';

/**
 * Messages we start (invitation, reminder), not replies. Zalo allows a consultation message only
 * within 7 days of the user's last interaction (docs/platform-limits.md); outside it, the approved rating
 * template goes by user id, then by phone. A phone without Zalo (-118) is reported so the caller
 * can use another channel. Templates wait out the quiet hours.
 */
export interface ZaloInvitation {
  userId?: string | null;
  /** Plain phone number from the dossier intake: used for this send only, never stored or logged. */
  phone?: string | null;
  messages: Outbound[];
  /** Placeholders of the rating template: ma, donvi, thutuc. */
  vars: Record<string, string>;
  dossierCode?: string | null;
}

export type ZaloSendResult =
  | { status: 'sent'; via: 'cs' | 'template_uid' | 'template_phone'; messageId: string }
  | { status: 'held'; until: Date }
  | { status: 'skipped'; reason: 'unsubscribed' | 'blocked' }
  | { status: 'no_zalo_account' }
  | { status: 'failed'; reason: string; code?: number };

export interface ZaloProactiveOptions {
  client: Pick<ZaloClient, 'sendCs' | 'getQuota' | 'sendTemplateByUid' | 'sendTemplateByPhone'>;
  redis: Redis;
  prefix: string;
  log: Logger;
  csWindowMs: number;
  ratingTemplateId?: string | undefined;
  templateByUid: boolean;
  templateMode: 'production' | 'development';
  /** template_data names → our variables, e.g. ["ma_ho_so=ma"]. */
  templateParams: string[];
  quietHours: { start: string; end: string };
  now?: () => number;
}

/** Template message id → dossier code, so a rating (user_feedback) finds its dossier. */
export const TEMPLATE_LINK_TTL_S = 60 * 24 * 3600;
export function templateLinkKey(prefix: string, messageId: string): string {
  return key(prefix, 'zalo', 'tpl', messageId);
}

/** Unreachable, 5xx, an expired token, rate limited: the caller's job retries later. */
function retryLater(err: unknown): boolean {
  const kind = classifyZaloError(err).kind;
  return kind === 'transient' || kind === 'rate_limited';
}

function failed(err: unknown): ZaloSendResult {
  return err instanceof ZaloApiError
    ? { status: 'failed', reason: err.message, code: err.code }
    : { status: 'failed', reason: err instanceof Error ? err.message : 'unknown' };
}

export class ZaloProactiveSender {
  private readonly now: () => number;
  constructor(private readonly opts: ZaloProactiveOptions) {
    this.now = opts.now ?? Date.now;
  }

  async send(inv: ZaloInvitation): Promise<ZaloSendResult> {
    const contact = inv.userId
      ? await Contact.findOne({ channel: 'zalo', channelUserId: inv.userId }).lean()
      : null;
    if (contact?.blockedAt) return { status: 'skipped', reason: 'blocked' };
    if (contact?.unsubscribedAt) return { status: 'skipped', reason: 'unsubscribed' };

    if (inv.userId && (await this.inWindow(inv.userId, contact?.lastInteractionAt ?? null))) {
      const cs = await this.sendCs(inv.userId, inv.messages);
      if (cs) return cs;
    }
    return this.sendTemplate(inv);
  }

  private async inWindow(userId: string, lastInteractionAt: Date | null): Promise<boolean> {
    const since = this.now() - this.opts.csWindowMs;
    if (lastInteractionAt && lastInteractionAt.getTime() > since) return true;
    try {
      const quota = await this.opts.client.getQuota(userId);
      return quota.lastInteraction !== null && quota.lastInteraction > since;
    } catch (err) {
      if (err instanceof ZaloApiError && err.reason !== 'token_expired' && err.reason !== 'rate_limited')
        return false;
      throw err;
    }
  }

  /** null: the window turned out closed (-230/-232), try a template. */
  private async sendCs(userId: string, messages: Outbound[]): Promise<ZaloSendResult | null> {
    let first = '';
    const rendered = renderForZalo(messages);
    for (const [i, m] of rendered.entries()) {
      try {
        const sent = await this.opts.client.sendCs(userId, m);
        if (i === 0) first = sent.messageId;
      } catch (err) {
        if (!(err instanceof ZaloApiError)) throw err;
        if (err.reason === 'out_of_window' && i === 0) {
          this.opts.log.info(
            { code: err.code },
            'zalo consultation window closed; falling back to the template',
          );
          return null;
        }
        const handled = await this.refusal(err, userId);
        if (handled) return handled;
        throw err;
      }
    }
    return { status: 'sent', via: 'cs', messageId: first };
  }

  private async sendTemplate(inv: ZaloInvitation): Promise<ZaloSendResult> {
    const templateId = this.opts.ratingTemplateId;
    if (!templateId)
      return { status: 'failed', reason: 'outside the 7-day window and ZALO_RATING_TEMPLATE_ID is not set' };
    // The rating template names a dossier, and its answer finds the dossier by it: no dossier, no template.
    if (!inv.dossierCode)
      return { status: 'failed', reason: 'outside the 7-day window and no dossier for the rating template' };
    const until = quietUntil(this.now(), this.opts.quietHours.start, this.opts.quietHours.end);
    if (until) return { status: 'held', until };
    const data = this.templateData(inv.vars);
    let last: ZaloSendResult = { status: 'failed', reason: 'no user id or phone to send a template to' };

    if (inv.userId && this.opts.templateByUid) {
      try {
        const sent = await this.opts.client.sendTemplateByUid(inv.userId, templateId, data);
        await this.link(sent.messageId, inv.dossierCode);
        return { status: 'sent', via: 'template_uid', messageId: sent.messageId };
      } catch (err) {
        if (retryLater(err)) throw err;
        // -249 (not sendable by UID), -213/-227/-244 and the like: the phone may still work.
        last = (await this.refusal(err, inv.userId)) ?? failed(err);
      }
    }
    const phone = inv.phone ? normalisePhone(inv.phone) : null;
    if (inv.phone && !phone) return { status: 'failed', reason: 'phone number is not a Vietnamese number' };
    if (phone) {
      try {
        const sent = await this.opts.client.sendTemplateByPhone(phone, templateId, data, {
          ...(inv.dossierCode ? { trackingId: inv.dossierCode } : {}),
          mode: this.opts.templateMode,
        });
        await this.link(sent.messageId, inv.dossierCode);
        return { status: 'sent', via: 'template_phone', messageId: sent.messageId };
      } catch (err) {
        if (retryLater(err)) throw err;
        if (err instanceof ZaloApiError && err.reason === 'no_zalo_account')
          return { status: 'no_zalo_account' };
        return failed(err);
      }
    }
    return last;
  }

  /** Acts on a refusal about the recipient; null when it is not one. */
  private async refusal(err: unknown, userId: string | null | undefined): Promise<ZaloSendResult | null> {
    const f = classifyZaloError(err);
    if (f.kind === 'dead' && userId) {
      await markZaloContact(this.opts, userId, f.mark, new Date(this.now()));
      this.opts.log.info({ reason: f.reason, mark: f.mark }, 'zalo recipient unavailable; contact marked');
      return { status: 'skipped', reason: f.mark };
    }
    if (err instanceof ZaloApiError && err.reason === 'permanent') return failed(err);
    return null;
  }

  private templateData(vars: Record<string, string>): Record<string, string> {
    const data: Record<string, string> = {};
    for (const pair of this.opts.templateParams) {
      const [param, variable] = pair.split('=') as [string, string];
      data[param] = vars[variable] ?? '';
    }
    return data;
  }

  private async link(messageId: string, dossierCode: string | null | undefined): Promise<void> {
    if (messageId && dossierCode)
      await this.opts.redis.set(
        templateLinkKey(this.opts.prefix, messageId),
        dossierCode,
        'EX',
        TEMPLATE_LINK_TTL_S,
      );
  }
}
