import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { quietUntil } from '../../lib/quiet-hours';
import type { Logger } from '../../lib/logger';
import { sleepUntil } from '../../lib/sleep-until';
import { Broadcast } from '../../models/broadcast';
import { goneChanges, writeContact } from '../jobs/contact-writer';
import { holdBroadcast, type ControlDeps } from './control';
import { DeliveryStore, type HeldSlot } from './delivery-store';
import type { ChannelLimiter } from './limiter';
import { optOutsCountFrom, recordOptOut } from './opt-outs';
import { controlKey, type DeliveryPayload } from './names';
import { renderBroadcast, type BroadcastContent, type RenderedMessage } from './render';
import { BroadcastSendError, type BroadcastSender } from './senders';

interface CachedBroadcast {
  content: BroadcastContent;
  ignoreQuietHours: boolean;
  rendered: Map<'vi' | 'en', RenderedMessage>;
  /** Opt-outs from this instant on skip the recipient (opt-outs.ts). */
  optOutsFrom: number;
}

/**
 * The send path of one delivery job: two Redis scripts around the platform call and no MongoDB
 * call (see delivery-store.ts; a dead recipient's contact is the one exception):
 *   quiet hours? → hold the broadcast · claim (one script: queued → sending unless cancelled,
 *   paused, the channel is in a 429 pause or the recipient opted out meanwhile (skipped), and
 *   take the channel's next rate slot) · sleep until
 *   the slot · send · settle (sent / blocked / failed; the slot is held a window past the reply,
 *   which is what keeps the platform's count within the limit, see limiter.ts).
 * A delivery found 'sending' at its claim was left by a dead worker: it is sent again and counted
 * (inFlightAtCrash), the only case where a recipient can get the message twice.
 */
export class DeliveryProcessor {
  /**
   * The broadcasts being sent, by id. The load itself is cached (single flight): 64 deliveries
   * starting at once must not load it 64 times.
   */
  private readonly cache = new Map<string, Promise<CachedBroadcast | null>>();
  private readonly store: DeliveryStore;
  /** Until when a 429 seen by this process pauses the channel (the Redis pause is authoritative). */
  private pausedUntil = 0;

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

  /** `job`: for its attempts (a transient failure on the last one settles the delivery as failed). */
  async process(p: DeliveryPayload, job: Pick<Job, 'attemptsMade' | 'opts'>): Promise<void> {
    const { b, c, u, l } = p;
    const now = () => (this.deps.now ?? (() => new Date()))();
    const bc = await this.broadcast(b);
    if (!bc) throw new UnrecoverableError(`broadcast ${b} not found`);

    if (!bc.ignoreQuietHours) {
      const until = quietUntil(
        now().getTime(),
        this.deps.env.QUIET_HOURS_START,
        this.deps.env.QUIET_HOURS_END,
      );
      // The delivery stays queued; the resume at the end of quiet hours re-adds its job.
      if (until) return void (await holdBroadcast(b, until, this.deps));
    }

    const { limiter } = this.deps;
    const ctl = controlKey(this.deps.prefix, b);
    let claim = await this.store.claim(b, c, ctl, limiter, bc.optOutsFrom);
    while (claim.kind === 'wait') {
      await sleep(claim.ms);
      claim = await this.store.claim(b, c, ctl, limiter, bc.optOutsFrom);
    }
    switch (claim.kind) {
      case 'settled':
      case 'skipped': // opted out since the broadcast began
      case 'cancelled':
      case 'paused': // resume re-adds the job
        return;
      case 'rate_limited':
        return this.pauseChannel(claim.ms);
      case 'go':
        if (claim.recovered)
          this.deps.log.warn(
            { broadcast: b, contact: c },
            'delivery was mid-send when its worker died: sending again',
          );
    }
    // The slot's start, on this process's clock: the claim computed the wait on the Redis clock
    // before its reply reached us, so counting it from now is never early.
    const startAt = performance.now() + claim.waitMs;
    const slot: HeldSlot = { logKey: limiter.logKey, member: claim.slot, repliedAt: null };

    let message = bc.rendered.get(l);
    if (!message) bc.rendered.set(l, (message = renderBroadcast(bc.content, l)));
    // Never before the slot; a late start only makes the slot's hold more conservative.
    await sleepUntil(startAt);
    // A 429 seen by this process while we slept: do not add to it (other processes see the
    // Redis pause at their next claim).
    if (this.pausedUntil > Date.now()) {
      await this.store.release(b, c, slot);
      return this.pauseChannel(this.pausedUntil - Date.now());
    }
    try {
      await this.deps.sender.send(u, message);
      slot.repliedAt = performance.now();
    } catch (err) {
      slot.repliedAt = performance.now();
      if (!(err instanceof BroadcastSendError)) {
        await this.store.release(b, c, slot);
        throw err;
      }
      const f = err.failure;
      switch (f.kind) {
        case 'rate_limited':
          this.pausedUntil = Math.max(this.pausedUntil, Date.now() + f.retryAfterMs);
          await this.store.release(b, c, slot);
          await this.deps.limiter.pause(f.retryAfterMs);
          this.deps.log.warn(
            { channel: this.deps.sender.channel, retryAfterMs: f.retryAfterMs },
            'broadcast channel rate limited: pausing the channel',
          );
          return this.pauseChannel(f.retryAfterMs);
        case 'dead':
          // Contact first: once the delivery reads 'blocked' (and the broadcast may finish), the
          // contact's change is already in its ordered list for the one contact writer. If Redis
          // fails, the job retries.
          try {
            const at = now();
            await writeContact(this.deps, {
              contactId: c,
              channel: this.deps.sender.channel,
              userId: u,
              set: goneChanges(f.mark, at),
            });
            // Other broadcasts going out now skip this contact too (the writer records it again later).
            await recordOptOut(this.deps.redis, this.deps.prefix, c, at);
          } catch (dbErr) {
            await this.store.release(b, c, slot);
            throw dbErr;
          }
          await this.store.settle(b, c, 'blocked', f.reason, slot);
          return;
        case 'refused':
          await this.store.settle(b, c, 'failed', f.reason, slot);
          throw new UnrecoverableError(`refused: ${f.reason}`);
        case 'transient': {
          const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (last) await this.store.settle(b, c, 'failed', f.reason, slot);
          else await this.store.release(b, c, slot);
          throw err;
        }
      }
    }
    await this.store.settle(b, c, 'sent', null, slot);
  }

  /** BullMQ stops fetching from this channel's queue for `ms`; the job goes back to waiting. */
  private async pauseChannel(ms: number): Promise<never> {
    await this.deps.queue.rateLimit(ms);
    throw Worker.RateLimitError();
  }

  private broadcast(id: string): Promise<CachedBroadcast | null> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const load = this.load(id);
    if (this.cache.size > 100) this.cache.clear();
    this.cache.set(id, load);
    // A failed or empty load is not kept: the next delivery tries again.
    const forget = () => void (this.cache.get(id) === load && this.cache.delete(id));
    void load.then((entry) => entry ?? forget(), forget);
    return load;
  }

  private async load(id: string): Promise<CachedBroadcast | null> {
    const doc = await Broadcast.findById(id).lean();
    if (!doc) return null;
    return {
      content: {
        text: doc.text,
        textEn: doc.textEn ?? null,
        format: doc.format === 'html' ? 'html' : 'text',
        imageUrl: doc.imageUrl ?? null,
        buttons: doc.buttons.map((x) => ({ text: x.text, textEn: x.textEn ?? null, url: x.url })),
      },
      ignoreQuietHours: doc.ignoreQuietHours,
      rendered: new Map(),
      optOutsFrom: optOutsCountFrom(doc.createdAt),
    };
  }
}
