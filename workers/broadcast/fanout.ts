import { quietUntil } from '../../bot/channels/zalo/quiet-hours';
import { Broadcast, type BroadcastChannel } from '../../models/broadcast';
import { enqueueDeliveries, holdBroadcast, type ControlDeps } from './control';
import { DeliveryStore } from './delivery-store';
import { controlKey } from './queues';
import { recipientFilter, recipientPages, targetChannels } from './targeting';

export const FANOUT_PAGE = 1000;

/**
 * Turns a broadcast into one queued delivery (Redis) and one job (BullMQ addBulk, stable jobId)
 * per recipient, a page at a time. Resumable: the cursor (last contact _id) is saved after each
 * page; a repeated page keeps existing delivery states (HSETNX) and jobIds make its jobs no-ops.
 * Stops between pages when paused or cancelled.
 */
export async function runFanout(broadcastId: string, deps: ControlDeps & { log: { info(o: object, m: string): void } }): Promise<void> {
  const at = (deps.now ?? (() => new Date()))();
  const bc = await Broadcast.findById(broadcastId).lean();
  if (!bc || !['scheduled', 'fanning_out'].includes(bc.status)) return;
  if (!bc.ignoreQuietHours) {
    const until = quietUntil(at.getTime(), deps.env.QUIET_HOURS_START, deps.env.QUIET_HOURS_END);
    if (until) return void (await holdBroadcast(broadcastId, until, deps));
  }
  await Broadcast.updateOne({ _id: bc._id, status: 'scheduled' }, { $set: { status: 'fanning_out', startedAt: at } });
  const store = new DeliveryStore(deps.redis, deps.prefix);
  const target = { unitCode: bc.target?.unitCode ?? null, channels: (bc.target?.channels ?? []) as BroadcastChannel[], lang: (bc.target?.lang ?? null) as 'vi' | 'en' | null, tags: bc.target?.tags ?? [] };
  const limits = { zaloWindowH: deps.env.ZALO_CS_WINDOW_H, now: at };
  const filters = await Promise.all(targetChannels(target).map((ch) => recipientFilter(target, ch, limits)));
  const filter = filters.length === 1 ? filters[0]! : { $or: filters };
  for await (const page of recipientPages(filter, bc.fanoutCursor ?? null, FANOUT_PAGE)) {
    const ctl = await deps.redis.get(controlKey(deps.prefix, broadcastId));
    if (ctl === 'paused' || ctl === 'cancelled') return;
    const rows = page.map((p) => ({ contactId: p._id.toString(), channel: p.channel, chatId: p.channelUserId, lang: p.lang }));
    await store.add(broadcastId, rows);
    await enqueueDeliveries(broadcastId, rows, deps.queues);
    const { total } = await store.counts(broadcastId);
    await Broadcast.updateOne({ _id: bc._id }, { $set: { fanoutCursor: page[page.length - 1]!._id, fannedOut: total } });
  }
  const { total } = await store.counts(broadcastId);
  await Broadcast.updateOne({ _id: bc._id, status: 'fanning_out' }, { $set: { status: 'sending', fanoutDone: true, fannedOut: total } });
  deps.log.info({ broadcast: broadcastId, recipients: total }, 'broadcast fanned out');
}
