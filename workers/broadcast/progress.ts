import { Types } from 'mongoose';
import { Broadcast, type BroadcastStatus } from '../../models/broadcast';
import { BroadcastDelivery, DELIVERY_STATES, type DeliveryState } from '../../models/broadcast-delivery';

/** Live progress and the final report, both read from the delivery states (the one truth). */
export interface BroadcastProgress {
  id: string;
  status: BroadcastStatus;
  recipients: number;
  fannedOut: number;
  fanoutDone: boolean;
  counts: Record<DeliveryState, number>;
  /** Settled so far (sent + failed + blocked + skipped + cancelled). */
  done: number;
  /** Sends per second over the last RATE_WINDOW_S (or since the start). */
  ratePerS: number;
  /** Estimated finish at the current rate; null when unknown or not sending. */
  etaSeconds: number | null;
  failedReasons: Record<string, number>;
  blockedReasons: Record<string, number>;
  /** Contacts skipped because they unsubscribed while the broadcast ran. */
  unsubscribedDuring: number;
  inFlightAtCrash: number;
  heldUntil: string | null;
  sendAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

const RATE_WINDOW_S = 10;

async function byReason(broadcastId: Types.ObjectId, state: DeliveryState): Promise<Record<string, number>> {
  const rows = await BroadcastDelivery.aggregate<{ _id: string | null; n: number }>([
    { $match: { broadcastId, state } },
    { $group: { _id: '$reason', n: { $sum: 1 } } },
  ]);
  return Object.fromEntries(rows.map((r) => [r._id ?? 'unknown', r.n]));
}

export async function broadcastProgress(id: string, now = new Date()): Promise<BroadcastProgress | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const bc = await Broadcast.findById(id).lean();
  if (!bc) return null;
  const broadcastId = bc._id;
  const rows = await BroadcastDelivery.aggregate<{ _id: DeliveryState; n: number }>([{ $match: { broadcastId } }, { $group: { _id: '$state', n: { $sum: 1 } } }]);
  const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
  for (const r of rows) counts[r._id] = r.n;
  const done = counts.sent + counts.failed + counts.blocked + counts.skipped + counts.cancelled;

  const windowStart = new Date(Math.max(now.getTime() - RATE_WINDOW_S * 1000, bc.startedAt?.getTime() ?? now.getTime()));
  const span = Math.max(1, (now.getTime() - windowStart.getTime()) / 1000);
  const recent = bc.status === 'sending' || bc.status === 'fanning_out' ? await BroadcastDelivery.countDocuments({ broadcastId, settledAt: { $gte: windowStart } }) : 0;
  const ratePerS = recent / span;
  const remaining = Math.max(0, (bc.fanoutDone ? bc.fannedOut : Math.max(bc.recipientCount, bc.fannedOut)) - done);
  const [failedReasons, blockedReasons, skipped] = await Promise.all([byReason(broadcastId, 'failed'), byReason(broadcastId, 'blocked'), byReason(broadcastId, 'skipped')]);
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  return {
    id,
    status: bc.status as BroadcastStatus,
    recipients: bc.fanoutDone ? bc.fannedOut : bc.recipientCount,
    fannedOut: bc.fannedOut,
    fanoutDone: bc.fanoutDone,
    counts,
    done,
    ratePerS: Math.round(ratePerS * 10) / 10,
    etaSeconds: ratePerS > 0 && remaining > 0 ? Math.round(remaining / ratePerS) : remaining === 0 ? 0 : null,
    failedReasons,
    blockedReasons,
    unsubscribedDuring: skipped.unsubscribed ?? 0,
    inFlightAtCrash: bc.inFlightAtCrash,
    heldUntil: iso(bc.heldUntil),
    sendAt: iso(bc.sendAt),
    startedAt: iso(bc.startedAt),
    finishedAt: iso(bc.finishedAt),
  };
}

/**
 * Marks finished broadcasts: 'sending' with a complete fan-out and nothing left queued or in
 * flight becomes 'completed'; a cancelled one gets its finish time once its in-flight sends settle.
 * Idempotent; any number of processes may run it.
 */
export async function finishBroadcasts(now = new Date()): Promise<number> {
  let finished = 0;
  const open = await Broadcast.find({ $or: [{ status: 'sending', fanoutDone: true }, { status: 'cancelled', finishedAt: null }] }, { _id: 1, status: 1 }).lean();
  for (const bc of open) {
    const states: DeliveryState[] = bc.status === 'sending' ? ['queued', 'sending'] : ['sending'];
    const left = await BroadcastDelivery.countDocuments({ broadcastId: bc._id, state: { $in: states } });
    if (left > 0) continue;
    const r = await Broadcast.updateOne(
      { _id: bc._id, status: bc.status, finishedAt: null },
      { $set: { finishedAt: now, ...(bc.status === 'sending' ? { status: 'completed' } : {}) } },
    );
    finished += r.modifiedCount;
  }
  return finished;
}
