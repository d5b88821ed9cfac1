import type { Telegram } from 'telegraf';
import type { ZaloClient } from '../../../bot/channels/zalo/client';
import { ZALO_OUTSIDE_WINDOW } from '../../../bot/channels/send-failure';
import { classifyTelegramError } from '../../../bot/channels/telegram/errors';
import { classifyZaloError } from '../../../bot/channels/zalo/errors';
import { appendAudit } from '../../../lib/audit/writer';
import { Case } from '../../../models/case';
import { Contact } from '../../../models/contact';
import { Session } from '../../../models/session';
import { Unit } from '../../../models/unit';
import { CaseNotFoundError } from './handling';
import { GENERIC_CITIZEN, resolutionOf } from '../../../lib/case-resolutions';

/**
 * The unit's reply to the citizen behind a case, through the channel they answered on. The link
 * between a case and a citizen exists only through the survey's conversation (the response id
 * in the session, the session's contact): the case and the answers carry no identity.
 *
 * Never pretends: a web-chat citizen cannot be reached (nothing to push to), a contact who sent
 * /stop or blocked the bot is not written to, and on Zalo a consultation message is allowed only
 * within the window after the citizen's last interaction (docs/platform-limits.md; the paid templates are for
 * rating invitations, not replies). Each attempt is recorded in the case log with its outcome.
 */
export type FollowUpRefusal =
  | 'web_chat'
  | 'no_conversation'
  | 'no_contact'
  | 'unsubscribed'
  | 'blocked'
  | 'outside_zalo_window'
  | 'channel_off'
  | 'refused';

export type FollowUpResult =
  { status: 'sent'; channel: 'telegram' | 'zalo' } | { status: 'not_sent'; reason: FollowUpRefusal };

/**
 * How long after a case opened a missing conversation or contact copy is taken for one not yet
 * written: both are written behind by the ingest queue (session.sync, the contact writer), which
 * lags under load or while MongoDB is down, and a case can be closed within minutes of opening.
 * Within it the job retries (the queue's backoff, workers/queues.ts); after it,
 * the copy is gone (erased, or never written) and that is recorded.
 */
export const WRITE_BEHIND_GRACE_MS = 5 * 60_000;

/** The conversation's or contact's MongoDB copy is not written yet: the job retries. */
export class FollowUpNotYetWrittenError extends Error {
  constructor(
    readonly caseId: string,
    readonly missing: 'conversation' | 'contact',
  ) {
    super(`case ${caseId}: the ${missing} copy is not written yet`);
    this.name = 'FollowUpNotYetWrittenError';
  }
}

/** Why not, as an official reads it (Vietnamese, English second). */
export const REFUSAL_TEXT: Readonly<Record<FollowUpRefusal, string>> = Object.freeze({
  web_chat: 'công dân góp ý qua web chat, không có kênh để nhắn lại / web-chat citizens cannot be reached',
  no_conversation: 'không còn cuộc trò chuyện khảo sát của phiếu này / the survey conversation is gone',
  no_contact: 'không còn thông tin liên lạc của công dân / the citizen’s contact is gone',
  unsubscribed: 'công dân đã ngừng nhận tin / the citizen unsubscribed',
  blocked: 'công dân đã chặn hoặc không còn dùng tài khoản / the citizen blocked the bot or left',
  outside_zalo_window:
    'đã quá thời hạn Zalo cho phép nhắn tin kể từ lần tương tác cuối của công dân / outside Zalo’s window since the citizen’s last interaction',
  channel_off:
    'kênh của công dân chưa được cấu hình trên máy chủ này / the citizen’s channel is not configured',
  refused: 'nền tảng từ chối tin nhắn / the platform refused the message',
});

export interface FollowUpChannels {
  telegram: Pick<Telegram, 'sendMessage'> | null;
  zalo: Pick<ZaloClient, 'sendCs'> | null;
  /** ZALO_CS_WINDOW_H in milliseconds. */
  zaloWindowMs: number;
  /** Marks a contact the platform says is gone, through the one writer of contacts. */
  markGone(
    c: { contactId: string; channel: 'telegram' | 'zalo'; userId: string; mark: 'blocked' | 'unsubscribed' },
    at: Date,
  ): Promise<void>;
}

/**
 * `close`: the closing message (the resolution's sentence, or a generic one for a free reason),
 * once per case. `message`: an official's own text.
 */
export type FollowUpRequest = { kind: 'close' } | { kind: 'message'; text: string };

type CaseLean = NonNullable<Awaited<ReturnType<typeof loadCase>>>;
const loadCase = (caseId: string) => Case.findOne({ caseId }, { log: 0 }).lean();

async function compose(c: CaseLean, req: FollowUpRequest, lang: 'vi' | 'en'): Promise<string> {
  const unit = await Unit.findOne({ code: c.unitCode }, { _id: 0, name: 1 }).lean();
  const donvi = unit?.name ?? (lang === 'en' ? 'The one-stop office' : 'Bộ phận Một cửa');
  const ma = c.dossierCode ?? '';
  const head =
    lang === 'en'
      ? `${donvi}, about your feedback${ma ? ` on dossier ${ma}` : ''}:`
      : `${donvi} phản hồi ý kiến của Ông/Bà${ma ? ` về hồ sơ ${ma}` : ''}:`;
  if (req.kind === 'message') return `${head}\n${req.text}`;
  const sentence = (resolutionOf(c.resolution)?.citizen ?? GENERIC_CITIZEN)[lang];
  const thanks =
    lang === 'en'
      ? 'Thank you for helping us serve you better.'
      : 'Cảm ơn Ông/Bà đã góp ý để chúng tôi phục vụ tốt hơn.';
  return `${head} ${sentence} ${thanks}`;
}

async function record(
  c: CaseLean,
  req: FollowUpRequest,
  by: string,
  result: FollowUpResult,
  text: string | null,
  at: Date,
): Promise<void> {
  const entry =
    result.status === 'sent'
      ? { at, by, action: 'follow_up_sent', note: text, detail: result.channel }
      : { at, by, action: 'follow_up_failed', note: null, detail: result.reason };
  await Case.updateOne(
    { caseId: c.caseId },
    {
      ...(req.kind === 'close' ? { $set: { followUpPending: false, followUpSentAt: at } } : {}),
      $push: { log: entry },
    },
  );
  await appendAudit({
    at,
    actor: by,
    action: `case.${entry.action}`,
    targetType: 'case',
    targetId: c.caseId,
    unitCode: c.unitCode,
  });
}

/**
 * Sends the follow-up and records the outcome. Throws for transient failures (platform
 * unreachable, 5xx, 429, a copy not written yet): the job retries. The closing message goes once, when the close asked
 * for it: a rerun after it was dealt with (sent or found impossible) returns null.
 */
export async function deliverFollowUp(
  caseId: string,
  req: FollowUpRequest,
  by: string,
  ch: FollowUpChannels,
  now = new Date(),
): Promise<FollowUpResult | null> {
  const c = await loadCase(caseId);
  if (!c) throw new CaseNotFoundError(caseId);
  if (req.kind === 'close' && (c.status !== 'closed' || !c.followUpPending)) return null;
  const done = async (result: FollowUpResult, text: string | null = null) => {
    await record(c, req, by, result, text, now);
    return result;
  };
  const young = now.getTime() - c.openedAt.getTime() < WRITE_BEHIND_GRACE_MS;
  const session = await Session.findOne(
    { responseId: c.responseId },
    { _id: 0, contactId: 1, channel: 1 },
  ).lean();
  if (!session) {
    if (young) throw new FollowUpNotYetWrittenError(c.caseId, 'conversation');
    return done({ status: 'not_sent', reason: 'no_conversation' });
  }
  if (session.channel === 'web') return done({ status: 'not_sent', reason: 'web_chat' });
  const contact = await Contact.findById(session.contactId, {
    channel: 1,
    channelUserId: 1,
    lang: 1,
    unsubscribedAt: 1,
    blockedAt: 1,
    lastInteractionAt: 1,
  }).lean();
  if (!contact && young) throw new FollowUpNotYetWrittenError(c.caseId, 'contact');
  if (!contact || contact.channel === 'web') return done({ status: 'not_sent', reason: 'no_contact' });
  if (contact.blockedAt) return done({ status: 'not_sent', reason: 'blocked' });
  if (contact.unsubscribedAt) return done({ status: 'not_sent', reason: 'unsubscribed' });
  const channel = contact.channel;
  const who = { contactId: String(contact._id), channel, userId: contact.channelUserId };
  const text = await compose(c, req, contact.lang === 'en' ? 'en' : 'vi');

  if (channel === 'telegram') {
    if (!ch.telegram) return done({ status: 'not_sent', reason: 'channel_off' });
    try {
      await ch.telegram.sendMessage(contact.channelUserId, text);
    } catch (err) {
      const f = classifyTelegramError(err);
      if (f.kind === 'dead') {
        await ch.markGone({ ...who, mark: 'blocked' }, now);
        return done({ status: 'not_sent', reason: 'blocked' });
      }
      if (f.kind === 'refused') return done({ status: 'not_sent', reason: 'refused' });
      throw err;
    }
    return done({ status: 'sent', channel }, text);
  }

  if (!ch.zalo) return done({ status: 'not_sent', reason: 'channel_off' });
  const last = contact.lastInteractionAt?.getTime() ?? 0;
  if (last < now.getTime() - ch.zaloWindowMs)
    return done({ status: 'not_sent', reason: 'outside_zalo_window' });
  try {
    await ch.zalo.sendCs(contact.channelUserId, { text });
  } catch (err) {
    const f = classifyZaloError(err);
    if (f.kind === 'dead') {
      await ch.markGone({ ...who, mark: f.mark }, now);
      return done({ status: 'not_sent', reason: f.mark });
    }
    if (f.kind === 'refused')
      return done({
        status: 'not_sent',
        reason: f.reason === ZALO_OUTSIDE_WINDOW ? 'outside_zalo_window' : 'refused',
      });
    throw err;
  }
  return done({ status: 'sent', channel }, text);
}

/** The outcome as the unit's group reads it. */
export function followUpOutcomeText(caseId: string, r: FollowUpResult): string {
  return r.status === 'sent'
    ? `✉️ Phiếu ${caseId}: đã nhắn công dân qua ${r.channel === 'telegram' ? 'Telegram' : 'Zalo'}. / The citizen was messaged.`
    : `⚠️ Phiếu ${caseId}: không nhắn được công dân: ${REFUSAL_TEXT[r.reason]}.`;
}
