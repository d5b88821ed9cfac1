import { Types } from 'mongoose';
import { quietUntil } from '../../bot/channels/zalo/quiet-hours';
import { Broadcast, type BroadcastChannel } from '../../models/broadcast';
import { BroadcastDelivery } from '../../models/broadcast-delivery';
import { enqueueDeliveries, holdBroadcast, type ControlDeps } from './control';
import { controlKey } from './queues';
import { recipientFilter, recipientPage, targetChannels } from './targeting';

export const FANOUT_PAGE = 1000;

/**
 * Turns a broadcast into one delivery (MongoDB) and one job (BullMQ, stable jobId) per recipient,
 * a page at a time. Resumable: the cursor (last contact _id) is saved after each page, upserts
 * and jobIds make a repeated page harmless. Stops between pages when paused or cancelled.
 */
export async function runFanout(broadcastId: string, deps: ControlDeps & { log: { info(o: object, m: string): void } }): Promise<void> {
  const at = (deps.now ?? (() => new Date()))();
  const bc = await Broadcast.findById(broadcastId).lean();
  if (!bc || !['scheduled', 'fanning_out'].includes(bc.status)) return;
  if (!bc.ignoreQuietHours) {
    const until = quietUntil(at.getTime(), deps.env.QUIET_HOURS_START, deps.env.QUIET_HOURS_END);
    if (until) {
      await holdBroadcast(broadcastId, until, deps);
      return;
    }
  }
  await Broadcast.updateOne({ _id: bc._id, status: 'scheduled' }, { $set: { status: 'fanning_out', startedAt: at } });
  const target = { unitCode: bc.target?.unitCode ?? null, channels: (bc.target?.channels ?? []) as BroadcastChannel[], lang: (bc.target?.lang ?? null) as 'vi' | 'en' | null, tags: bc.target?.tags ?? [] };
  const limits = { zaloWindowH: deps.env.ZALO_CS_WINDOW_H, now: at };
  const filters = await Promise.all(targetChannels(target).map((ch) => recipientFilter(target, ch, limits)));
  const filter = filters.length === 1 ? filters[0]! : { $or: filters };
  let cursor: Types.ObjectId | null = bc.fanoutCursor ?? null;
  for (;;) {
    const ctl = await deps.redis.get(controlKey(deps.prefix, broadcastId));
    if (ctl === 'paused' || ctl === 'cancelled') return;
    const page = await recipientPage(filter, cursor, FANOUT_PAGE);
    if (page.length === 0) break;
    const rows = page.map((p) => ({ contactId: p._id, channel: p.channel, channelUserId: p.channelUserId, lang: p.lang }));
    const res = await BroadcastDelivery.bulkWrite(
      rows.map((r) => ({
        updateOne: {
          filter: { broadcastId: bc._id, contactId: r.contactId },
          update: { $setOnInsert: { broadcastId: bc._id, contactId: r.contactId, channel: r.channel, channelUserId: r.channelUserId, lang: r.lang, state: 'queued', attempts: 0 } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
    await enqueueDeliveries(broadcastId, rows, deps.queues);
    cursor = page[page.length - 1]!._id;
    await Broadcast.updateOne({ _id: bc._id }, { $set: { fanoutCursor: cursor }, $inc: { fannedOut: res.upsertedCount } });
    if (page.length < FANOUT_PAGE) break;
  }
  const done = await Broadcast.findOneAndUpdate({ _id: bc._id, status: 'fanning_out' }, { $set: { status: 'sending', fanoutDone: true } }, { new: true }).lean();
  deps.log.info({ broadcast: broadcastId, recipients: done?.fannedOut }, 'broadcast fanned out');
}

