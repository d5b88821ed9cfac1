import { DelayedError } from 'bullmq';
import { z } from 'zod';
import { outOfQuiet, type QuietHours } from '../../bot/survey/schedule';
import { erasePhone } from '../../bot/survey/zns-phone';
import { defineJob, type JobContext } from '../registry';
import { invitationSendSchema, sendInvitation, type OutreachDeps } from './invitation-send';
import { reminderSendSchema, sendReminder } from './reminder-send';

/**
 * The outreach queue's jobs (scheduled by invitation-queue.ts, job ids in outreach-ids.ts). Their
 * `ctx.deps` is what the Outreach that started the queue's workers holds: the channel senders,
 * the phone claims, its clock and the quiet hours.
 */
export interface OutreachRuntime {
  deps: OutreachDeps;
  now(): Date;
  quiet: QuietHours;
}

type OutreachContext = JobContext<OutreachRuntime>;

/**
 * A job that comes due inside quiet hours (a retry, a worker that was down) waits for morning
 * without using an attempt. Returns the time to use when it may run now.
 */
async function outOfQuietNow(ctx: OutreachContext): Promise<Date> {
  const now = ctx.deps.now();
  const until = outOfQuiet(now, ctx.deps.quiet);
  if (until.getTime() > now.getTime() && ctx.token) {
    await ctx.job.moveToDelayed(Date.now() + (until.getTime() - now.getTime()), ctx.token);
    throw new DelayedError();
  }
  return now;
}

/** The invitation of one dossier's survey (job id `inv-<dossier>`). */
export const invitationSend = defineJob({
  name: 'invitation.send',
  queue: 'outreach',
  schema: invitationSendSchema,
  handle: async (p, ctx: OutreachContext) => sendInvitation(p, ctx.deps.deps, await outOfQuietNow(ctx)),
});

/** Reminder n of one dossier's survey (job id `rem-<dossier>-<n>`). */
export const reminderSend = defineJob({
  name: 'reminder.send',
  queue: 'outreach',
  schema: reminderSendSchema,
  handle: async (p, ctx: OutreachContext) => sendReminder(p, ctx.deps.deps, await outOfQuietNow(ctx)),
});

/**
 * Erases the phone number kept for ZNS when the survey expires (job id `erase-<dossier>`).
 * Quiet hours do not hold an erasure.
 */
export const phoneErase = defineJob({
  name: 'phone.erase',
  queue: 'outreach',
  schema: z.object({ dossierCode: z.string().min(1).max(64) }),
  handle: async (p) => {
    await erasePhone(p.dossierCode);
    return 'erased';
  },
});
