import type { RedisClient } from '../../lib/redis';
import { Types } from 'mongoose';
import { Broadcast, type BroadcastStatus } from '../../models/broadcast';
import { DeliveryStore, type DeliveryCounts } from './delivery-store';
import { controlKey } from './names';

/** Live progress and the final report, read from the delivery counters (report once finished). */
export interface BroadcastProgress {
  id: string;
  status: BroadcastStatus;
  recipients: number;
  fanoutDone: boolean;
  counts: Omit<DeliveryCounts, 'reasons' | 'total' | 'inFlightAtCrash'>;
  /** Settled so far (sent + failed + blocked + skipped + cancelled). */
  done: number;
  /** Deliveries settled per second over the last 10 s. */
  ratePerS: number;
  /** Estimated seconds to finish at the current rate; null when unknown. */
  etaSeconds: number | null;
  failedReasons: Record<string, number>;
  blockedReasons: Record<string, number>;
  /** Contacts skipped because they unsubscribed while the broadcast ran. */
  unsubscribedDuring: number;
  /** Deliveries found mid-send after a worker died (each may have gone out twice). */
  inFlightAtCrash: number;
  createdBy: string;
  approvedBy: string | null;
  heldUntil: string | null;
  sendAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * A stored report as the counts it was made from. Mongoose drops empty objects when it saves
 * (`minimize`), so a report with nothing failed, blocked or skipped comes back without its
 * `reasons` (or with only some of them).
 */
export function storedReport(r: Partial<DeliveryCounts>): DeliveryCounts {
  return {
    total: 0,
    queued: 0,
    sending: 0,
    sent: 0,
    failed: 0,
    blocked: 0,
    skipped: 0,
    cancelled: 0,
    inFlightAtCrash: 0,
    ...r,
    reasons: { failed: {}, blocked: {}, skipped: {}, ...r.reasons },
  };
}

export async function broadcastProgress(
  id: string,
  redis: RedisClient,
  prefix: string,
): Promise<BroadcastProgress | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const bc = await Broadcast.findById(id).lean();
  if (!bc) return null;
  const store = new DeliveryStore(redis, prefix);
  // A finished broadcast reads its report: the Redis state expires a week later.
  const c = bc.report ? storedReport(bc.report as Partial<DeliveryCounts>) : await store.counts(id);
  const live = bc.status === 'sending' || bc.status === 'fanning_out';
  const ratePerS = live ? await store.rate(id) : 0;
  const recipients = bc.fanoutDone ? c.total : Math.max(bc.recipientCount, c.total);
  // Cancelled during the fan-out: recipients never fanned out did not get it either.
  const cancelled = c.cancelled + (bc.status === 'cancelled' ? recipients - c.total + c.queued : 0);
  const done = c.sent + c.failed + c.blocked + c.skipped + cancelled;
  const remaining = Math.max(0, recipients - done);
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  return {
    id,
    status: bc.status as BroadcastStatus,
    recipients,
    fanoutDone: bc.fanoutDone,
    counts: {
      queued: bc.status === 'cancelled' ? 0 : bc.fanoutDone ? c.queued : remaining - c.sending,
      sending: c.sending,
      sent: c.sent,
      failed: c.failed,
      blocked: c.blocked,
      skipped: c.skipped,
      cancelled,
    },
    done,
    ratePerS: Math.round(ratePerS * 10) / 10,
    etaSeconds: remaining === 0 ? 0 : ratePerS > 0 ? Math.round(remaining / ratePerS) : null,
    failedReasons: c.reasons.failed,
    blockedReasons: c.reasons.blocked,
    unsubscribedDuring: c.reasons.skipped.unsubscribed ?? 0,
    inFlightAtCrash: c.inFlightAtCrash,
    createdBy: bc.createdBy,
    approvedBy: bc.approvedBy ?? null,
    heldUntil: iso(bc.heldUntil),
    sendAt: iso(bc.sendAt),
    startedAt: iso(bc.startedAt),
    finishedAt: iso(bc.finishedAt),
  };
}

/**
 * Marks finished broadcasts and stores their report: 'sending' with a complete fan-out and
 * nothing queued or in flight becomes 'completed'; a cancelled one becomes 'cancelled' once its
 * in-flight sends settle. Cancelled means its status or its control key says so: a cancel sets
 * the key first and the status last, and its status write can be lost (its process dies, or, on
 * FerretDB, a concurrent update of the same document rewrites it whole: the fan-out's), so the key
 * is authoritative. Idempotent; any number of processes may run it.
 */
export async function finishBroadcasts(
  redis: RedisClient,
  prefix: string,
  now = new Date(),
): Promise<number> {
  const store = new DeliveryStore(redis, prefix);
  let finished = 0;
  const open = await Broadcast.find(
    {
      finishedAt: null,
      status: { $in: ['pending_approval', 'scheduled', 'fanning_out', 'sending', 'paused', 'cancelled'] },
    },
    { _id: 1, status: 1, fanoutDone: 1 },
  ).lean();
  for (const bc of open) {
    const id = bc._id.toString();
    const cancelled = bc.status === 'cancelled' || (await redis.get(controlKey(prefix, id))) === 'cancelled';
    if (!cancelled && !(bc.status === 'sending' && bc.fanoutDone)) continue;
    const c = await store.counts(id);
    // A cancelled broadcast may still see a fan-out page that was in progress at the cancel; its
    // jobs settle as cancelled, so wait for them too.
    if (c.sending > 0 || c.queued > 0) continue;
    const status = cancelled
      ? { status: 'cancelled', ...(bc.status === 'cancelled' ? {} : { cancelledAt: now }) }
      : { status: 'completed' };
    const r = await Broadcast.updateOne(
      { _id: bc._id, status: bc.status, finishedAt: null },
      { $set: { finishedAt: now, report: c, ...status } },
    );
    if (r.modifiedCount === 1) await store.expire(id);
    finished += r.modifiedCount;
  }
  return finished;
}
