import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { Types } from 'mongoose';
import { quietUntil } from '../../bot/channels/zalo/quiet-hours';
import type { Logger } from '../../lib/logger';
import { Broadcast } from '../../models/broadcast';
import { BroadcastDelivery } from '../../models/broadcast-delivery';
import { Contact } from '../../models/contact';
import { holdBroadcast, type ControlDeps } from './control';
import type { ChannelLimiter } from './limiter';
import { controlKey, type DeliveryPayload } from './queues';
import { renderBroadcast, type BroadcastContent, type RenderedMessage } from './render';
import { BroadcastSendError, type BroadcastSender } from './senders';

interface CachedBroadcast {
  content: BroadcastContent;
  ignoreQuietHours: boolean;
  createdAt: Date;
  rendered: Map<'vi' | 'en', RenderedMessage>;
  /** Contacts that unsubscribed or were blocked since the broadcast was created. */
  gone: Set<string>;
  goneAt: number;
  goneRefresh: Promise<void> | null;
}

/** How stale the "unsubscribed meanwhile" list may be: one query per broadcast per second. */
const GONE_REFRESH_MS = 1000;
/** A slot woken later than this is not used (a late burst would break the 1 s window). */
const LATE_SLOT_MS = 10;

/**
 * The send path of one delivery job:
 *   quiet hours? → hold the broadcast · reserve a slot (channel GCRA) and wait for it ·
 *   claim the delivery (queued → sending) · read the control key and the channel pause ·
 *   send · settle (sent / blocked / failed).
 * The claim comes before the last control read, so after a cancel is acknowledged only deliveries
 * already 'sending' can reach the platform. A delivery found 'sending' when claimed was left by
 * a dead worker: it is sent again and counted (inFlightAtCrash).
 */
export class DeliveryProcessor {
  private readonly cache = new Map<string, CachedBroadcast>();

  constructor(
    private readonly deps: ControlDeps & {
      log: Logger;
      sender: BroadcastSender;
      limiter: ChannelLimiter;
      queue: Queue;
    },
  ) {}

  async process(job: Job<DeliveryPayload>): Promise<void> {
    const { b, c } = job.data;
    const now = () => (this.deps.now ?? (() => new Date()))();
    const bc = await this.broadcast(b);
    if (!bc) throw new UnrecoverableError(`broadcast ${b} not found`);

    if (!bc.ignoreQuietHours) {
      const until = quietUntil(now().getTime(), this.deps.env.QUIET_HOURS_START, this.deps.env.QUIET_HOURS_END);
      // The delivery stays 'queued'; the resume at the end of quiet hours re-adds its job.
      if (until) return void (await holdBroadcast(b, until, this.deps));
    }

    await this.waitForSlot();

    const prev = await BroadcastDelivery.findOneAndUpdate(
      { broadcastId: new Types.ObjectId(b), contactId: new Types.ObjectId(c), state: { $in: ['queued', 'sending'] } },
      { $set: { state: 'sending' }, $inc: { attempts: 1 } },
      { new: false, projection: { state: 1, channelUserId: 1, lang: 1, inFlightAtCrash: 1 } },
    ).lean();
    if (!prev) return; // settled already (sent before a restart, cancelled, ...)
    const id = prev._id;
    if (prev.state === 'sending' && !prev.inFlightAtCrash) {
      await BroadcastDelivery.updateOne({ _id: id }, { $set: { inFlightAtCrash: true } });
      await Broadcast.updateOne({ _id: b }, { $inc: { inFlightAtCrash: 1 } });
      this.deps.log.warn({ broadcast: b, delivery: id.toString() }, 'delivery was mid-send when its worker died: sending again');
    }

    const [[, ctl], [, pausedMs]] = (await this.deps.redis.multi().get(controlKey(this.deps.prefix, b)).pttl(this.deps.limiter.pauseKey).exec()) as [[null, string | null], [null, number]];
    if (ctl === 'cancelled') return this.settle(id, 'cancelled', null);
    if (ctl === 'paused') return this.release(id); // resume re-adds the job
    if (pausedMs > 0) {
      await this.release(id);
      return this.pauseChannel(pausedMs);
    }
    if (await this.isGone(b, bc, c)) return this.settle(id, 'skipped', 'unsubscribed');

    const lang = prev.lang === 'en' ? 'en' : 'vi';
    let message = bc.rendered.get(lang);
    if (!message) bc.rendered.set(lang, (message = renderBroadcast(bc.content, lang)));
    try {
      await this.deps.sender.send(prev.channelUserId, message);
    } catch (err) {
      if (!(err instanceof BroadcastSendError)) {
        await this.release(id);
        throw err;
      }
      const f = err.failure;
      switch (f.kind) {
        case 'rate_limited':
          await this.release(id);
          await this.deps.limiter.pause(f.retryAfterMs);
          this.deps.log.warn({ channel: this.deps.sender.channel, retryAfterMs: f.retryAfterMs }, 'broadcast channel rate limited: pausing the channel');
          return this.pauseChannel(f.retryAfterMs);
        case 'dead':
          await this.settle(id, 'blocked', f.reason);
          await Contact.updateOne({ _id: c }, { $set: { unsubscribedAt: now(), ...(f.mark === 'blocked' ? { blockedAt: now() } : {}) } });
          return;
        case 'refused':
          await this.settle(id, 'failed', f.reason);
          throw new UnrecoverableError(`refused: ${f.reason}`);
        case 'transient': {
          const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (last) await this.settle(id, 'failed', f.reason);
          else await this.release(id);
          throw err;
        }
      }
    }
    await BroadcastDelivery.updateOne({ _id: id }, { $set: { state: 'sent', sentAt: now(), settledAt: now(), reason: null } });
  }

  /** Reserves the next slot of the channel schedule and sleeps until it; a 429 pause stops the job. */
  private async waitForSlot(): Promise<void> {
    for (;;) {
      const r = await this.deps.limiter.reserve();
      if (r.kind === 'paused') return this.pauseChannel(r.ms);
      const due = Date.now() + r.waitMs;
      if (r.waitMs > 0) await sleep(r.waitMs);
      if (Date.now() - due <= LATE_SLOT_MS) return;
    }
  }

  /** BullMQ stops fetching from this channel's queue for `ms`; the job goes back to waiting. */
  private async pauseChannel(ms: number): Promise<never> {
    await this.deps.queue.rateLimit(ms);
    throw Worker.RateLimitError();
  }

  private async release(id: Types.ObjectId): Promise<void> {
    await BroadcastDelivery.updateOne({ _id: id, state: 'sending' }, { $set: { state: 'queued' } });
  }

  private async settle(id: Types.ObjectId, state: 'sent' | 'failed' | 'blocked' | 'skipped' | 'cancelled', reason: string | null): Promise<void> {
    await BroadcastDelivery.updateOne({ _id: id }, { $set: { state, reason, settledAt: new Date() } });
  }

  private async broadcast(id: string): Promise<CachedBroadcast | null> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const doc = await Broadcast.findById(id).lean();
    if (!doc) return null;
    const entry: CachedBroadcast = {
      content: {
        text: doc.text,
        textEn: doc.textEn ?? null,
        format: doc.format === 'html' ? 'html' : 'text',
        imageUrl: doc.imageUrl ?? null,
        buttons: doc.buttons.map((x) => ({ text: x.text, textEn: x.textEn ?? null, url: x.url })),
      },
      ignoreQuietHours: doc.ignoreQuietHours,
      createdAt: doc.createdAt,
      rendered: new Map(),
      gone: new Set(),
      goneAt: 0,
      goneRefresh: null,
    };
    if (this.cache.size > 100) this.cache.clear();
    this.cache.set(id, entry);
    return entry;
  }

  private async isGone(_broadcastId: string, bc: CachedBroadcast, contactId: string): Promise<boolean> {
    if (Date.now() - bc.goneAt > GONE_REFRESH_MS) {
      bc.goneRefresh ??= (async () => {
        const since = bc.createdAt;
        const rows = await Contact.find({ $or: [{ unsubscribedAt: { $gte: since } }, { blockedAt: { $gte: since } }] }, { _id: 1 }).lean();
        bc.gone = new Set(rows.map((r) => r._id.toString()));
        bc.goneAt = Date.now();
      })().finally(() => (bc.goneRefresh = null));
      await bc.goneRefresh;
    }
    return bc.gone.has(contactId);
  }
}
