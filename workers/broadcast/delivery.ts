import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { quietUntil } from '../../bot/channels/zalo/quiet-hours';
import type { Logger } from '../../lib/logger';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import { holdBroadcast, type ControlDeps } from './control';
import { DeliveryStore } from './delivery-store';
import type { ChannelLimiter } from './limiter';
import { JITTER_ALLOWANCE_MS } from './limits';
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

/** How stale the "unsubscribed meanwhile" list may be: one query per broadcast every 5 s. */
const GONE_REFRESH_MS = 5000;
/**
 * A slot woken later than this is given up (after a long pause several late jobs would fire as
 * one burst). Kept well above the jitter allowance: every skipped slot is lost throughput, and at
 * high concurrency on a busy machine a tight threshold made most slots go unused.
 */
const LATE_SLOT_MS = JITTER_ALLOWANCE_MS * 5;

/**
 * The send path of one delivery job, with no MongoDB call on the way (see delivery-store.ts):
 *   quiet hours? → hold the broadcast · reserve a slot (channel GCRA) and sleep until it ·
 *   claim (one script: queued → sending unless cancelled, paused or the channel is in a 429
 *   pause) · send · settle (sent / blocked / failed).
 * A delivery found 'sending' at its claim was left by a dead worker: it is sent again and counted
 * (inFlightAtCrash), the only case where a recipient can get the message twice.
 */
export class DeliveryProcessor {
  private readonly cache = new Map<string, CachedBroadcast>();
  private readonly store: DeliveryStore;

  constructor(
    private readonly deps: ControlDeps & {
      log: Logger;
      sender: BroadcastSender;
      limiter: ChannelLimiter;
      queue: Queue;
    },
  ) {
    this.store = new DeliveryStore(deps.redis, deps.prefix);
  }

  async process(job: Job<DeliveryPayload>): Promise<void> {
    const { b, c, u, l } = job.data;
    const now = () => (this.deps.now ?? (() => new Date()))();
    const bc = await this.broadcast(b);
    if (!bc) throw new UnrecoverableError(`broadcast ${b} not found`);

    if (!bc.ignoreQuietHours) {
      const until = quietUntil(now().getTime(), this.deps.env.QUIET_HOURS_START, this.deps.env.QUIET_HOURS_END);
      // The delivery stays queued; the resume at the end of quiet hours re-adds its job.
      if (until) return void (await holdBroadcast(b, until, this.deps));
    }

    await this.waitForSlot();
    const { limiter } = this.deps;
    let claim = await this.store.claim(b, c, controlKey(this.deps.prefix, b), limiter.pauseKey, limiter);
    while (claim.kind === 'wait') {
      await sleep(claim.ms);
      claim = await this.store.claim(b, c, controlKey(this.deps.prefix, b), limiter.pauseKey, limiter);
    }
    switch (claim.kind) {
      case 'settled':
      case 'cancelled':
      case 'paused': // resume re-adds the job
        return;
      case 'rate_limited':
        return this.pauseChannel(claim.ms);
      case 'go':
        if (claim.recovered) this.deps.log.warn({ broadcast: b, contact: c }, 'delivery was mid-send when its worker died: sending again');
    }
    if (this.isGone(bc, c)) return void (await this.store.settle(b, c, 'skipped', 'unsubscribed'));

    let message = bc.rendered.get(l);
    if (!message) bc.rendered.set(l, (message = renderBroadcast(bc.content, l)));
    try {
      await this.deps.sender.send(u, message);
    } catch (err) {
      if (!(err instanceof BroadcastSendError)) {
        await this.store.release(b, c);
        throw err;
      }
      const f = err.failure;
      switch (f.kind) {
        case 'rate_limited':
          await this.store.release(b, c);
          await this.deps.limiter.pause(f.retryAfterMs);
          this.deps.log.warn({ channel: this.deps.sender.channel, retryAfterMs: f.retryAfterMs }, 'broadcast channel rate limited: pausing the channel');
          return this.pauseChannel(f.retryAfterMs);
        case 'dead':
          // Contact first: once the delivery reads 'blocked' (and the broadcast may finish), the
          // contact is already out of every future targeting. If MongoDB fails, the job retries.
          try {
            await Contact.updateOne({ _id: c }, { $set: { unsubscribedAt: now(), ...(f.mark === 'blocked' ? { blockedAt: now() } : {}) } });
          } catch (dbErr) {
            await this.store.release(b, c);
            throw dbErr;
          }
          await this.store.settle(b, c, 'blocked', f.reason);
          return;
        case 'refused':
          await this.store.settle(b, c, 'failed', f.reason);
          throw new UnrecoverableError(`refused: ${f.reason}`);
        case 'transient': {
          const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (last) await this.store.settle(b, c, 'failed', f.reason);
          else await this.store.release(b, c);
          throw err;
        }
      }
    }
    await this.store.settle(b, c, 'sent', null);
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

  /**
   * Whether the contact unsubscribed or was found blocked since the broadcast was created. The
   * list is refreshed in the background (never on the send path: on FerretDB the query takes
   * long), so it is at most a few seconds stale.
   */
  private isGone(bc: CachedBroadcast, contactId: string): boolean {
    if (Date.now() - bc.goneAt > GONE_REFRESH_MS && !bc.goneRefresh) {
      bc.goneRefresh = (async () => {
        const rows = await Contact.find({ $or: [{ unsubscribedAt: { $gte: bc.createdAt } }, { blockedAt: { $gte: bc.createdAt } }] }, { _id: 1 }).lean();
        bc.gone = new Set(rows.map((r) => r._id.toString()));
      })()
        .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'unsubscribed-contacts refresh failed'))
        .finally(() => {
          bc.goneAt = Date.now();
          bc.goneRefresh = null;
        });
    }
    return bc.gone.has(contactId);
  }
}
