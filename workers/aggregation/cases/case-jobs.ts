import { Job } from 'bullmq';
import type { Telegram } from 'telegraf';
import { z } from 'zod';
import { jobConversationBackground } from '../../conversation-background';
import { createTelegramClient } from '../../../bot/channels/telegram/api-client';
import { classifyTelegramError } from '../../../bot/channels/telegram/errors';
import type { ZaloClient } from '../../../bot/channels/zalo/client';
import { Case } from '../../../models/case';
import type { JobContext } from '../../registry';
import { defineJob } from '../../registry';
import { jobId } from '../../job-id';
import { alertKeyboard } from './case-buttons';
import { escalateOverdue } from './escalate';
import { followUpJobId } from './group-actions';
import { deliverFollowUp, followUpOutcomeText, type FollowUpChannels } from './follow-up';
import { MAX_NOTE_CHARS } from './handling';
import { caseAlertText, telegramCaseNotifier, type CaseNotifier } from './notifier';

let override: CaseNotifier | null = null;
/** Tests and other channels plug their notifier in here; null restores the default. */
export function setCaseNotifier(n: CaseNotifier | null): void {
  override = n;
}

let zaloClient: Pick<ZaloClient, 'sendCs'> | null = null;
/** The process's Zalo client (app/start.ts, when the Zalo channel is configured), for follow-ups to Zalo citizens. */
export function setCaseZaloClient(c: Pick<ZaloClient, 'sendCs'> | null): void {
  zaloClient = c;
}

/** A Telegram client for queue workers, or null without a bot token. */
function caseTelegram(ctx: Pick<JobContext, 'env' | 'log' | 'stopSignal'>): Telegram | null {
  const e = ctx.env;
  if (!e.TELEGRAM_BOT_TOKEN) return null;
  // Queue workers do not wait out long 429s inline: the job fails and BullMQ retries it with backoff.
  return createTelegramClient({
    token: e.TELEGRAM_BOT_TOKEN,
    apiRoot: e.TELEGRAM_API_ROOT,
    maxRetries: e.TELEGRAM_MAX_RETRIES,
    maxRetryAfterS: e.TELEGRAM_MAX_RETRY_AFTER_S,
    waitOnRateLimit: false,
    // A stopping process abandons the call (the job fails this attempt and the next process retries it).
    stopSignal: ctx.stopSignal,
    log: ctx.log,
  });
}

/** The notifier: the injected one, else Telegram when a bot token is configured, else none. */
export function caseNotifier(ctx: Pick<JobContext, 'env' | 'log' | 'stopSignal'>): CaseNotifier {
  if (override) return override;
  const telegram = caseTelegram(ctx);
  return telegram ? telegramCaseNotifier(telegram) : { notify: async () => false };
}

export const notifyJobId = (caseId: string): string => jobId('notify', caseId);

/** Alerts the case's unit once (jobId notify-<caseId>; notifiedAt guards reruns), with the case's buttons. */
export const caseNotify = defineJob({
  name: 'case.notify',
  queue: 'outbound',
  schema: z.object({ caseId: z.string().min(1).max(100) }),
  async handle(p, ctx) {
    const c = await Case.findOne({ caseId: p.caseId }, { log: 0 }).lean();
    if (!c || c.notifiedAt) return;
    const text = caseAlertText({
      ...c,
      dossierCode: c.dossierCode ?? null,
      procedureCode: c.procedureCode ?? null,
    });
    const sent = await caseNotifier(ctx).notify(c.unitCode, text, {
      keyboard: alertKeyboard(String(c._id), c.status === 'in_progress'),
    });
    const now = new Date();
    await Case.updateOne(
      { caseId: p.caseId, notifiedAt: null },
      {
        $set: { notifiedAt: now },
        $push: {
          log: { at: now, by: 'system', action: 'notified', note: sent ? null : 'no alert chat configured' },
        },
      },
    );
    ctx.log.info({ caseId: p.caseId, unitCode: c.unitCode, sent }, 'case alert');
  },
});

/**
 * Queues a job of the sweep again under its stable id: retries it when it failed every attempt
 * (the platform unreachable for longer than the backoff lasts; BullMQ ignores an add under an id
 * it still holds, a failed job's too, kept a week), adds it when it is gone or was never queued
 * (its caller died first). A job still waiting or running is left alone.
 */
async function queueAgain(
  ctx: JobContext,
  name: 'case.notify' | 'case.follow_up',
  payload: Record<string, unknown>,
  id: string,
): Promise<boolean> {
  const held = await Job.fromId(ctx.producer.getQueue('outbound'), id);
  if (!held) await ctx.enqueue(name, payload, { jobId: id });
  else if (await held.isFailed()) await held.retry('failed');
  else return false;
  return true;
}

/** Alerts of open cases and closing follow-ups still not done a minute after they were due: queued again (how many). */
async function queueUnfinished(ctx: JobContext, now: Date): Promise<number> {
  const before = new Date(now.getTime() - 60_000);
  // A case closed meanwhile needs no alert any more.
  const unalerted = await Case.find(
    { notifiedAt: null, status: { $ne: 'closed' }, openedAt: { $lt: before } },
    { _id: 0, caseId: 1 },
  )
    .limit(500)
    .lean();
  let queued = 0;
  for (const c of unalerted)
    if (await queueAgain(ctx, 'case.notify', { caseId: c.caseId }, notifyJobId(c.caseId))) queued++;
  const pending = await Case.find(
    { followUpPending: true, status: 'closed', closedAt: { $lt: before } },
    { _id: 0, caseId: 1, closedBy: 1 },
  )
    .limit(500)
    .lean();
  for (const c of pending) {
    const payload = { caseId: c.caseId, by: c.closedBy ?? 'system', kind: 'close' };
    if (await queueAgain(ctx, 'case.follow_up', payload, followUpJobId(c.caseId))) queued++;
  }
  return queued;
}

/** Runs periodically (a BullMQ job scheduler, see scheduleCaseEscalation). */
export const caseEscalate = defineJob({
  name: 'case.escalate',
  queue: 'aggregate',
  schema: z.object({}).passthrough(),
  async handle(_p, ctx) {
    const r = await escalateOverdue({ notifier: caseNotifier(ctx) });
    if (r.escalated.length > 0)
      ctx.log.info(
        { escalated: r.escalated.length, undelivered: r.undelivered.length },
        'overdue cases escalated',
      );
    const requeued = await queueUnfinished(ctx, new Date());
    if (requeued > 0) ctx.log.info({ requeued }, 'case alerts and follow-ups queued again');
  },
});

/**
 * The unit's reply to the citizen (follow-up.ts): `close` is the closing message, `message` an
 * official's text. `reportTo`: the group that asked, told the outcome there. Returns the outcome
 * (the CLI waits for it).
 */
export const caseFollowUp = defineJob({
  name: 'case.follow_up',
  queue: 'outbound',
  schema: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('close'),
      caseId: z.string().min(1).max(100),
      by: z.string().min(1).max(100),
      reportTo: z.string().max(32).optional(),
    }),
    z.object({
      kind: z.literal('message'),
      caseId: z.string().min(1).max(100),
      by: z.string().min(1).max(100),
      text: z.string().trim().min(1).max(MAX_NOTE_CHARS),
      reportTo: z.string().max(32).optional(),
    }),
  ]),
  async handle(p, ctx) {
    const telegram = caseTelegram(ctx);
    const contacts = jobConversationBackground(ctx.producer);
    const channels: FollowUpChannels = {
      telegram,
      zalo: zaloClient,
      zaloWindowMs: ctx.env.ZALO_CS_WINDOW_H * 3600_000,
      async markGone(c, at) {
        const iso = at.toISOString();
        await contacts.updateContact({
          contactId: c.contactId,
          channel: c.channel,
          userId: c.userId,
          set: c.mark === 'blocked' ? { blockedAt: iso, unsubscribedAt: iso } : { unsubscribedAt: iso },
        });
      },
    };
    const result = await deliverFollowUp(
      p.caseId,
      p.kind === 'close' ? { kind: 'close' } : { kind: 'message', text: p.text },
      p.by,
      channels,
    );
    if (!result) return null;
    ctx.log.info(
      {
        caseId: p.caseId,
        kind: p.kind,
        status: result.status,
        detail: result.status === 'sent' ? result.channel : result.reason,
      },
      'case follow-up',
    );
    if (p.reportTo && telegram) {
      try {
        await telegram.sendMessage(p.reportTo, followUpOutcomeText(p.caseId, result));
      } catch (err) {
        // The group removed the bot meanwhile: the outcome is in the case log all the same.
        if (classifyTelegramError(err).kind !== 'dead') throw err;
      }
    }
    return result;
  },
});
