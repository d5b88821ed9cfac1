import { z } from 'zod';
import { createTelegramClient } from '../../../bot/channels/telegram/api-client';
import { Case } from '../../../models/case';
import type { JobContext } from '../../registry';
import { defineJob } from '../../registry';
import { escalateOverdue } from './escalate';
import { caseAlertText, telegramCaseNotifier, type CaseNotifier } from './notifier';

let override: CaseNotifier | null = null;
/** Tests and other channels plug their notifier in here; null restores the default. */
export function setCaseNotifier(n: CaseNotifier | null): void {
  override = n;
}

/** The notifier: the injected one, else Telegram when a bot token is configured, else none. */
export function caseNotifier(ctx: Pick<JobContext, 'env' | 'log'>): CaseNotifier {
  if (override) return override;
  const e = ctx.env;
  if (!e.TELEGRAM_BOT_TOKEN) return { notify: async () => false };
  // Queue workers do not wait out long 429s inline: the job fails and BullMQ retries it with backoff.
  return telegramCaseNotifier(
    createTelegramClient({ token: e.TELEGRAM_BOT_TOKEN, apiRoot: e.TELEGRAM_API_ROOT, maxRetries: e.TELEGRAM_MAX_RETRIES, maxRetryAfterS: e.TELEGRAM_MAX_RETRY_AFTER_S, waitOnRateLimit: false, log: ctx.log }),
  );
}

export const notifyJobId = (caseId: string): string => `notify-${caseId}`;

/** Alerts the case's unit once (jobId notify-<caseId>; notifiedAt guards reruns). */
export const caseNotify = defineJob({
  name: 'case.notify',
  queue: 'outbound',
  schema: z.object({ caseId: z.string().min(1).max(100) }),
  async handle(p, ctx) {
    const c = await Case.findOne({ caseId: p.caseId }, { log: 0 }).lean();
    if (!c || c.notifiedAt) return;
    const sent = await caseNotifier(ctx).notify(c.unitCode, caseAlertText({ ...c, dossierCode: c.dossierCode ?? null, procedureCode: c.procedureCode ?? null }));
    const now = new Date();
    await Case.updateOne(
      { caseId: p.caseId, notifiedAt: null },
      { $set: { notifiedAt: now }, $push: { log: { at: now, by: 'system', action: 'notified', note: sent ? null : 'no alert chat configured' } } },
    );
    ctx.log.info({ caseId: p.caseId, unitCode: c.unitCode, sent }, 'case alert');
  },
});

/** Runs periodically (a BullMQ job scheduler, see scheduleCaseEscalation). */
export const caseEscalate = defineJob({
  name: 'case.escalate',
  queue: 'aggregate',
  schema: z.object({}).passthrough(),
  async handle(_p, ctx) {
    const r = await escalateOverdue({ notifier: caseNotifier(ctx) });
    if (r.escalated.length > 0) ctx.log.info({ escalated: r.escalated.length, undelivered: r.undelivered.length }, 'overdue cases escalated');
  },
});
