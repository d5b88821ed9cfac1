import { setTimeout as sleep } from 'node:timers/promises';
import { quietUntil } from '../../lib/quiet-hours';
import { Broadcast, type BroadcastChannel } from '../../models/broadcast';
import { enqueueDeliveries, holdBroadcast, type ControlDeps } from './control';
import { DeliveryStore } from './delivery-store';
import { controlKey } from './names';
import { recipientFilter, recipientPages, targetChannels } from './targeting';

export const FANOUT_PAGE = 1000;
/** Seconds of sends a channel's delivery queue is kept ahead of its workers (at least two pages). */
export const FANOUT_LEAD_S = 2;
/** The longest the fan-out waits with its MongoDB cursor open (MongoDB drops a cursor idle 10 min). */
const CURSOR_IDLE_MAX_MS = 5 * 60_000;
const PACE_POLL_MS = 250;

/** Jobs waiting in a channel's delivery queue before the fan-out reads on (see runFanout). */
export function fanoutLead(limitPerS: number): number {
  return Math.max(2 * FANOUT_PAGE, Math.ceil(FANOUT_LEAD_S * limitPerS));
}

export type FanoutDeps = ControlDeps & {
  log: { info(o: object, m: string): void };
  /** Per channel, the jobs kept waiting ahead of the sends (fanoutLead of its limit); absent: no pacing. */
  lead?: Partial<Record<BroadcastChannel, number>>;
  /** How long it may wait with its cursor open (default CURSOR_IDLE_MAX_MS; tests shorten it). */
  cursorIdleMaxMs?: number;
};

/**
 * Turns a broadcast into one queued delivery (Redis) and one job (BullMQ addBulk, stable jobId)
 * per recipient, a page at a time. Resumable: the cursor (last contact _id) is saved after each
 * page; a repeated page keeps existing delivery states (HSETNX) and jobIds make its jobs no-ops.
 * Stops between pages when paused or cancelled.
 *
 * Paced: it reads the next page only once a channel it has given jobs to has fewer than its
 * lead (FANOUT_LEAD_S seconds of sends, at least two pages) waiting, because fanning out every
 * recipient at once competes with the broadcast's first sends and slows them below the limit;
 * paced, the reads and job adds are spread over the broadcast, and a pause
 * or cancel has at most the lead of jobs to take out. The cursor stays open while it waits (one
 * query for the whole list; on FerretDB every query decodes the whole collection), at most
 * CURSOR_IDLE_MAX_MS at a time. The recipients come in contact id order: in a broadcast to both
 * channels, a channel whose contacts all come late in that order starts when the fan-out gets
 * to them (the other channel is then at most its lead ahead), not at once.
 */
export async function runFanout(broadcastId: string, deps: FanoutDeps): Promise<void> {
  const at = (deps.now ?? (() => new Date()))();
  const bc = await Broadcast.findById(broadcastId).lean();
  // 'sending' without fanoutDone: a paced fan-out whose job is run again (its worker died).
  if (!bc || bc.fanoutDone || !['scheduled', 'fanning_out', 'sending'].includes(bc.status)) return;
  if (!bc.ignoreQuietHours) {
    const until = quietUntil(at.getTime(), deps.env.QUIET_HOURS_START, deps.env.QUIET_HOURS_END);
    if (until) return void (await holdBroadcast(broadcastId, until, deps));
  }
  await Broadcast.updateOne(
    { _id: bc._id, status: 'scheduled' },
    { $set: { status: 'fanning_out', startedAt: at } },
  );
  const store = new DeliveryStore(deps.redis, deps.prefix);
  const target = {
    unitCode: bc.target?.unitCode ?? null,
    channels: (bc.target?.channels ?? []) as BroadcastChannel[],
    lang: (bc.target?.lang ?? null) as 'vi' | 'en' | null,
    tags: bc.target?.tags ?? [],
  };
  const limits = { zaloWindowH: deps.env.ZALO_CS_WINDOW_H, now: at };
  const channels = targetChannels(target);
  const filters = await Promise.all(channels.map((ch) => recipientFilter(target, ch, limits)));
  const filter = filters.length === 1 ? filters[0]! : { $or: filters };
  let cursor = bc.fanoutCursor ?? null;
  /** Channels this fan-out has given jobs to: only they can be kept ahead of. */
  const fed = new Set<BroadcastChannel>();
  for (;;) {
    let reopen = false;
    for await (const page of recipientPages(filter, cursor, FANOUT_PAGE)) {
      if (await halted(broadcastId, deps)) return;
      const rows = page.map((p) => ({
        contactId: p._id.toString(),
        channel: p.channel,
        chatId: p.channelUserId,
        lang: p.lang,
      }));
      await store.add(broadcastId, rows);
      await enqueueDeliveries(broadcastId, rows, deps.queues);
      const { total } = await store.counts(broadcastId);
      cursor = page[page.length - 1]!._id;
      await Broadcast.updateOne({ _id: bc._id }, { $set: { fanoutCursor: cursor, fannedOut: total } });
      // Its deliveries are going out: staff see 'sending' while the rest is read (fanoutDone
      // says when it is all queued). Not over a pause or cancel written meanwhile.
      if (fed.size === 0)
        await Broadcast.updateOne({ _id: bc._id, status: 'fanning_out' }, { $set: { status: 'sending' } });
      rows.forEach((r) => fed.add(r.channel));
      if (page.length < FANOUT_PAGE) break;
      const paced = await untilNeeded(
        broadcastId,
        [...fed],
        deps,
        deps.cursorIdleMaxMs ?? CURSOR_IDLE_MAX_MS,
      );
      if (paced === 'stop') return;
      if (paced === 'later') {
        reopen = true;
        break;
      }
    }
    if (!reopen) break;
    // Waited long with the cursor open (a 429 pause, a slow channel): closed; read on later.
    if ((await untilNeeded(broadcastId, [...fed], deps, Infinity)) === 'stop') return;
  }
  const { total } = await store.counts(broadcastId);
  await Broadcast.updateOne(
    { _id: bc._id, status: { $in: ['fanning_out', 'sending'] } },
    { $set: { status: 'sending', fanoutDone: true, fannedOut: total } },
  );
  deps.log.info({ broadcast: broadcastId, recipients: total }, 'broadcast fanned out');
}

/** Staff paused or cancelled the broadcast: the fan-out stops (resume runs it again). */
async function halted(broadcastId: string, deps: ControlDeps): Promise<boolean> {
  const ctl = await deps.redis.get(controlKey(deps.prefix, broadcastId));
  return ctl === 'paused' || ctl === 'cancelled';
}

/**
 * Waits while every targeted channel still has its lead of jobs waiting. 'stop': paused or
 * cancelled meanwhile; 'later': still not needed after `maxMs`.
 */
async function untilNeeded(
  broadcastId: string,
  channels: BroadcastChannel[],
  deps: FanoutDeps,
  maxMs: number,
): Promise<'go' | 'stop' | 'later'> {
  const lead = deps.lead;
  if (!lead) return 'go';
  const started = Date.now();
  // A channel without a lead here (delivered by another process) is never waited for.
  if (channels.some((ch) => lead[ch] === undefined)) return 'go';
  for (;;) {
    const waiting = await Promise.all(channels.map((ch) => deps.queues.deliveryQueue(ch).getWaitingCount()));
    if (channels.some((ch, i) => waiting[i]! < lead[ch]!)) return 'go';
    if (await halted(broadcastId, deps)) return 'stop';
    if (Date.now() - started >= maxMs) return 'later';
    await sleep(PACE_POLL_MS);
  }
}
