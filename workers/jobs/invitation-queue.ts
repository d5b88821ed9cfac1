import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { AppContext } from '../../lib/app-context';
import type { Env } from '../../config/env';
import { createWorkerConnection, type RedisClient } from '../../lib/redis';
import { Dossier } from '../../models/dossier';
import type { ConversationHooks } from '../../bot/conversation/ports';
import type { OutreachScheduler } from '../../bot/survey/dossier-ingest';
import { markStage } from '../../bot/survey/funnel';
import { invitationFunnel } from '../../lib/metrics';
import { observeWorker } from '../metrics-hooks';
import { outOfQuiet, planReminders, type QuietHours } from '../../bot/survey/schedule';
import { erasePhone } from '../../bot/survey/zns-phone';
import { jobConversationBackground } from '../conversation-background';
import { JobProducer } from '../producer';
import { PhoneInviteClaims } from './invitation-phone-claim';
import type { InvitationSender } from './invitation-senders';
import {
  invitationSendSchema,
  sendInvitation,
  type OutreachChannel,
  type OutreachDeps,
} from './invitation-send';
import { reminderSendSchema, sendReminder } from './reminder-send';
import { invitationJobId, OUTREACH_QUEUE, phoneEraseJobId, reminderJobId } from './outreach-ids';

export { invitationJobId, OUTREACH_QUEUE, phoneEraseJobId, reminderJobId };

/** The funnel's invited / reminded / expired counts (lib/metrics.ts), from what a send found. */
function countOutreach<R extends string>(sent: 'invited' | 'reminded', result: R): R {
  if (result === 'sent') invitationFunnel.inc({ stage: sent });
  else if (result === 'expired') invitationFunnel.inc({ stage: 'expired' });
  return result;
}

/**
 * The outreach queue: proactive invitations (`invitation.send`, job id `inv-<dossier>`) and
 * reminders (`reminder.send`, job id `rem:<dossier>:<n>`) and the erasure of a phone number kept
 * for ZNS when the survey expires (`phone.erase`, job id `erase-<dossier>`), BullMQ delayed jobs under the context
 * prefix. Payloads are checked with zod when added and when processed. Stable job ids make a
 * repeated dossier event schedule nothing new; the handlers' own claims make a job that is
 * delivered twice, or re-added after its first run was removed, a no-op.
 * A job that comes due inside quiet hours (a retry, a worker that was down) waits for morning.
 */

const phoneEraseSchema = z.object({ dossierCode: z.string().min(1).max(64) });
const JOBS = {
  'invitation.send': invitationSendSchema,
  'reminder.send': reminderSendSchema,
  'phone.erase': phoneEraseSchema,
} as const;
type JobName = keyof typeof JOBS;

const DEFAULT_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 6,
  backoff: Object.freeze({ type: 'exponential', delay: 30_000 }),
  removeOnComplete: Object.freeze({ age: 7 * 86400, count: 10_000 }),
  removeOnFail: Object.freeze({ age: 30 * 86400 }),
});

export interface OutreachOptions {
  ctx: Pick<AppContext, 'redis' | 'prefix' | 'log'> & {
    env: Pick<
      Env,
      | 'PUBLIC_URL'
      | 'TELEGRAM_BOT_USERNAME'
      | 'INVITE_COOLDOWN_DAYS'
      | 'INVITE_CHANNEL_ORDER'
      | 'REDIS_URL'
      | 'QUIET_HOURS_START'
      | 'QUIET_HOURS_END'
      | 'REMINDER_DELAYS_HOURS'
      | 'REMINDER_MAX'
      | 'SECRETS_KEY'
    >;
  };
  senders: Partial<Record<OutreachChannel, InvitationSender>>;
  /** Controllable clock (tests); BullMQ delays are still real milliseconds from now. */
  now?: () => Date;
  backoffMs?: number;
}

export class Outreach implements OutreachScheduler {
  readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: RedisClient | null = null;
  private readonly now: () => Date;
  private readonly quiet: QuietHours;
  private readonly deps: OutreachDeps;
  /** For contact changes (a contact found blocked), applied by the ingest workers. */
  private readonly producer: JobProducer;

  constructor(private readonly opts: OutreachOptions) {
    const { ctx } = opts;
    this.now = opts.now ?? (() => new Date());
    this.quiet = { start: ctx.env.QUIET_HOURS_START, end: ctx.env.QUIET_HOURS_END };
    this.producer = new JobProducer(ctx.redis, ctx.prefix);
    const contacts = jobConversationBackground(this.producer);
    this.deps = {
      env: ctx.env,
      senders: opts.senders,
      log: ctx.log,
      phoneClaims: new PhoneInviteClaims(ctx.redis, ctx.prefix),
      markBlocked: async (c) => {
        const at = this.now().toISOString();
        await contacts.updateContact({ ...c, set: { blockedAt: at, unsubscribedAt: at } });
        ctx.log.info(
          { contactId: c.contactId, channel: c.channel },
          'outreach: the platform refused the contact (blocked): unsubscribed',
        );
      },
    };
    this.queue = new Queue(OUTREACH_QUEUE, {
      connection: ctx.redis,
      prefix: ctx.prefix,
      defaultJobOptions: {
        ...DEFAULT_JOB_OPTIONS,
        ...(opts.backoffMs !== undefined ? { backoff: { type: 'fixed', delay: opts.backoffMs } } : {}),
      },
    });
  }

  private async add(name: JobName, payload: unknown, jobId: string, at: Date, now: Date): Promise<void> {
    const data = JOBS[name].parse(payload);
    await this.queue.add(name, data, { jobId, delay: Math.max(0, at.getTime() - now.getTime()) });
  }

  /**
   * Invitation now (or at the end of quiet hours), reminders at the configured delays, and, when
   * a phone number was kept for ZNS, its erasure at the survey's expiry (quiet hours do not
   * hold an erasure).
   */
  async schedule(
    p: { dossierCode: string; issuedAt: Date; expiresAt: Date; keepsPhone?: boolean },
    now: Date = this.now(),
  ): Promise<void> {
    const env = this.opts.ctx.env;
    if (p.keepsPhone)
      await this.add(
        'phone.erase',
        { dossierCode: p.dossierCode },
        phoneEraseJobId(p.dossierCode),
        p.expiresAt,
        now,
      );
    await this.add(
      'invitation.send',
      { dossierCode: p.dossierCode },
      invitationJobId(p.dossierCode),
      outOfQuiet(now, this.quiet),
      now,
    );
    const plan = planReminders({
      issuedAt: p.issuedAt,
      expiresAt: p.expiresAt,
      delaysHours: env.REMINDER_DELAYS_HOURS,
      max: env.REMINDER_MAX,
      quiet: this.quiet,
    });
    for (const r of plan) {
      if (r.at.getTime() <= now.getTime()) continue; // a late repeat of the event does not remind at once
      await this.add(
        'reminder.send',
        { dossierCode: p.dossierCode, n: r.n },
        reminderJobId(p.dossierCode, r.n),
        r.at,
        now,
      );
    }
  }

  /** Removes pending reminders of a dossier; one that is running already finds the survey completed. */
  async cancelReminders(dossierCode: string): Promise<void> {
    const max = Math.max(this.opts.ctx.env.REMINDER_MAX, this.opts.ctx.env.REMINDER_DELAYS_HOURS.length);
    for (let n = 1; n <= max; n++) {
      try {
        await this.queue.remove(reminderJobId(dossierCode, n));
      } catch (err) {
        this.opts.ctx.log.debug(
          { dossier: dossierCode, n, err: (err as Error).message },
          'reminder not removed (running)',
        );
      }
    }
  }

  /**
   * Conversation hooks: started/completed counts, the dossier's response id, and the
   * cancellation of reminders the moment the survey completes.
   */
  hooks(): ConversationHooks {
    return {
      onStarted: async ({ dossierCode }) => {
        if (dossierCode && (await markStage(dossierCode, 'started', this.now())))
          invitationFunnel.inc({ stage: 'started' });
      },
      onFinished: async ({ dossierCode, responseId, status }) => {
        if (!dossierCode) return;
        // The survey has ended (completed, declined, stopped): a kept phone number is not needed.
        await erasePhone(dossierCode);
        if (status !== 'completed') return;
        await Dossier.updateOne(
          { code: dossierCode, 'survey.responseId': null },
          { $set: { 'survey.responseId': responseId } },
        );
        if (await markStage(dossierCode, 'completed', this.now()))
          invitationFunnel.inc({ stage: 'completed' });
        await this.cancelReminders(dossierCode);
      },
    };
  }

  async process(job: Job, token?: string): Promise<string> {
    if (job.name === 'phone.erase') {
      await erasePhone(phoneEraseSchema.parse(job.data).dossierCode);
      return 'erased';
    }
    const now = this.now();
    const until = outOfQuiet(now, this.quiet);
    if (until.getTime() > now.getTime() && token) {
      // Due inside quiet hours (retry, downtime): hold until morning without using an attempt.
      await job.moveToDelayed(Date.now() + (until.getTime() - now.getTime()), token);
      throw new DelayedError();
    }
    // Every line of this job names its queue and job (ids only).
    const deps = {
      ...this.deps,
      log: this.deps.log.child({ queue: OUTREACH_QUEUE, job: job.name, jobId: job.id }),
    };
    switch (job.name as JobName) {
      case 'invitation.send':
        return countOutreach(
          'invited',
          await sendInvitation(invitationSendSchema.parse(job.data), deps, now),
        );
      case 'reminder.send':
        return countOutreach('reminded', await sendReminder(reminderSendSchema.parse(job.data), deps, now));
      default:
        // Retrying cannot make a name known: fail at once instead of burning attempts.
        throw new UnrecoverableError(`unknown outreach job ${job.name}`);
    }
  }

  startWorker(concurrency = 4): Worker {
    if (this.worker) return this.worker;
    this.workerConnection = createWorkerConnection(this.opts.ctx.env);
    this.worker = new Worker(OUTREACH_QUEUE, (job, token) => this.process(job, token), {
      connection: this.workerConnection,
      prefix: this.opts.ctx.prefix,
      concurrency,
    });
    observeWorker(this.worker, OUTREACH_QUEUE);
    this.worker.on('failed', (job, err) =>
      this.opts.ctx.log.warn({ job: job?.id, name: job?.name, err: err.message }, 'outreach job failed'),
    );
    return this.worker;
  }

  /** Worker first, then the queue, then the worker's connection (the producer one is the context's). */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    await this.producer.close();
    this.workerConnection?.disconnect();
  }
}
