import type { Job, Queue } from 'bullmq';
import type { AppContext } from '../../lib/app-context';
import type { Env } from '../../config/env';
import { createWorkerConnection } from '../../lib/redis';
import { Dossier } from '../../models/dossier';
import type { ConversationHooks } from '../../bot/conversation/ports';
import type { OutreachScheduler } from '../../bot/survey/dossier-ingest';
import { markStage } from '../../bot/survey/funnel';
import { invitationFunnel } from '../../lib/metrics';
import { outOfQuiet, planReminders, type QuietHours } from '../../bot/survey/schedule';
import { erasePhone } from '../../bot/survey/zns-phone';
import { jobConversationBackground } from '../conversation-background';
import { JobProducer, type AddOptions } from '../producer';
import { dispatch, startQueueWorkers, type JobObserver, type RunningWorkers } from '../runner';
import { optedOut } from '../broadcast/opt-outs';
import { PhoneInviteClaims } from './invitation-phone-claim';
import type { InvitationSender } from './invitation-senders';
import type { OutreachChannel, OutreachDeps } from './invitation-send';
import type { OutreachRuntime } from './outreach-jobs';
import {
  invitationJobId,
  OUTREACH_QUEUE,
  phoneEraseJobId,
  reminderJobId,
  reminderJobIds,
} from './outreach-ids';

export { invitationJobId, OUTREACH_QUEUE, phoneEraseJobId, reminderJobId };

/**
 * The outreach queue: proactive invitations (`invitation.send`, job id `inv-<dossier>`) and
 * reminders (`reminder.send`, job id `rem-<dossier>-<n>`) and the erasure of a phone number kept
 * for ZNS when the survey expires (`phone.erase`, job id `erase-<dossier>`), BullMQ delayed jobs
 * under the context prefix. The jobs are in the catalogue (outreach-jobs.ts), added through the
 * producer (checked with their schemas when added and when processed) and run by the one Worker
 * factory with this object's senders and clock. Stable job ids make a repeated dossier event
 * schedule nothing new; the handlers' own claims make a job that is delivered twice, or re-added
 * after its first run was removed, a no-op.
 */

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
      | 'PHONE_HASH_KEY'
      | 'PHONE_HASH_KEY_PREVIOUS'
    >;
  };
  senders: Partial<Record<OutreachChannel, InvitationSender>>;
  /** Controllable clock (tests); BullMQ delays are still real milliseconds from now. */
  now?: () => Date;
  /** A fixed retry delay instead of the queue's backoff (tests). */
  backoffMs?: number;
  /** Told of every run of an outreach job (workers/runner.ts). */
  observe?: JobObserver;
}

export class Outreach implements OutreachScheduler {
  private workers: Promise<RunningWorkers> | null = null;
  private readonly now: () => Date;
  private readonly quiet: QuietHours;
  private readonly deps: OutreachDeps;
  /** Adds the outreach jobs, and contact changes (a contact found blocked) for the ingest workers. */
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
      optOuts: (ids) => optedOut(ctx.redis, ctx.prefix, ids),
      markBlocked: async (c) => {
        const at = this.now().toISOString();
        await contacts.updateContact({ ...c, set: { blockedAt: at, unsubscribedAt: at } });
        ctx.log.info(
          { contactId: c.contactId, channel: c.channel },
          'outreach: the platform refused the contact (blocked): unsubscribed',
        );
      },
    };
  }

  /** The outreach queue (tests read its jobs). */
  get queue(): Queue {
    return this.producer.getQueue(OUTREACH_QUEUE);
  }

  private async add(
    name: 'invitation.send' | 'reminder.send' | 'phone.erase',
    payload: { dossierCode: string; n?: number },
    jobId: string,
    at: Date,
    now: Date,
  ): Promise<void> {
    const opts: AddOptions = { jobId, delay: Math.max(0, at.getTime() - now.getTime()) };
    if (this.opts.backoffMs !== undefined) opts.backoff = { type: 'fixed', delay: this.opts.backoffMs };
    await this.producer.addByName(name, payload, opts);
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
      for (const id of reminderJobIds(dossierCode, n)) {
        try {
          await this.queue.remove(id);
        } catch (err) {
          this.opts.ctx.log.debug(
            { dossier: dossierCode, n, err: (err as Error).message },
            'reminder not removed (running)',
          );
        }
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

  private runtime(): OutreachRuntime {
    return { deps: this.deps, now: this.now, quiet: this.quiet };
  }

  /**
   * The process's context for the factory. Outreach jobs read their settings from the runtime's
   * deps, never from the context's env, which is the Pick of OutreachOptions.
   */
  private appContext(): AppContext {
    const { ctx } = this.opts;
    return { ...ctx, env: ctx.env as Env };
  }

  /** The queue's workers, through the one Worker factory; started once. */
  startWorker(concurrency?: number): Promise<RunningWorkers> {
    this.workers ??= startQueueWorkers({
      ctx: this.appContext(),
      producer: this.producer,
      createConnection: () => createWorkerConnection(this.opts.ctx.env),
      queue: OUTREACH_QUEUE,
      deps: this.runtime(),
      ...(concurrency ? { sizing: { concurrency } } : {}),
      ...(this.opts.observe ? { observe: this.opts.observe } : {}),
    });
    return this.workers;
  }

  /** Runs one outreach job as the worker does (tests; a job taken out of the queue by hand). */
  process(job: Job, token?: string): Promise<unknown> {
    const ctx = this.appContext();
    const producer = this.producer;
    return dispatch(
      OUTREACH_QUEUE,
      job,
      {
        ...ctx,
        producer,
        deps: this.runtime(),
        enqueue: async (name, payload, o) => void (await producer.addByName(name, payload, o)),
      },
      token,
    );
  }

  /** Workers first (they finish their jobs), then the producer's queues; the connection is the context's. */
  async close(): Promise<void> {
    await (await this.workers?.catch(() => null))?.close();
    await this.producer.close();
  }
}
