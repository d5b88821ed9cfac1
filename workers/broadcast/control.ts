import type { RedisClient } from '../../lib/redis';
import { setImmediate } from 'node:timers/promises';
import type { Env } from '../../config/env';
import { UserError } from '../../lib/user-error';
import { quietUntil } from '../../lib/quiet-hours';
import { Broadcast, type BroadcastChannel, type BroadcastStatus } from '../../models/broadcast';
import { DeliveryStore } from './delivery-store';
import { validateContent, type BroadcastContent } from './render';
import { countRecipients, type BroadcastTarget, type RecipientCount } from './targeting';
import { deliveryQueueName } from '../queues';
import {
  CONTROL_TTL_S,
  controlKey,
  deliveryJobId,
  fanoutJobId,
  JOB_DELIVER,
  JOB_FANOUT,
  JOB_RESUME,
  resumeJobId,
  type ControlState,
  type DeliveryPayload,
} from './names';
import type { BroadcastQueues } from './queues';

/**
 * What staff do with a broadcast: create (with approval, schedule and quiet hours), approve,
 * pause, resume, cancel. Every change is a MongoDB status update guarded by the expected current
 * status (two operators racing cannot both win) plus, for pause/cancel, the Redis control key
 * every delivery reads just before its send.
 */
export interface ControlDeps {
  redis: RedisClient;
  prefix: string;
  queues: BroadcastQueues;
  env: Env;
  now?: () => Date;
}

/** The content or target cannot be sent as it is (problems in English, from render.ts). */
export class BroadcastInputError extends UserError {
  constructor(readonly problems: string[]) {
    super(
      `nội dung thông báo chưa hợp lệ (${problems.length} lỗi): ${problems.join('; ')}`,
      `broadcast refused: ${problems.join('; ')}`,
    );
    this.name = 'BroadcastInputError';
  }
}

export interface CreateBroadcastInput extends BroadcastContent {
  target: BroadcastTarget;
  createdBy: string;
  sendAt?: Date | null;
  ignoreQuietHours?: boolean;
  requireApproval?: boolean;
}

export interface CreatedBroadcast {
  id: string;
  status: BroadcastStatus;
  recipients: RecipientCount;
  /** When the fan-out is due (null while waiting for approval). */
  startsAt: Date | null;
  /** Set when quiet hours moved the start. */
  heldByQuietHours: boolean;
}

const now = (d: ControlDeps) => (d.now ?? (() => new Date()))();

export async function createBroadcast(
  input: CreateBroadcastInput,
  deps: ControlDeps,
): Promise<CreatedBroadcast> {
  const problems = validateContent(input);
  if (
    input.target.unitCode !== undefined &&
    input.target.unitCode !== null &&
    input.target.unitCode.trim() === ''
  )
    problems.push('unit code is empty');
  if (problems.length > 0) throw new BroadcastInputError(problems);
  const recipients = await countRecipients(input.target, {
    zaloWindowH: deps.env.ZALO_CS_WINDOW_H,
    now: now(deps),
  });
  const approvalRequired = input.requireApproval ?? deps.env.BROADCAST_REQUIRE_APPROVAL;
  const doc = await Broadcast.create({
    text: input.text,
    textEn: input.textEn ?? null,
    format: input.format ?? 'text',
    imageUrl: input.imageUrl ?? null,
    buttons: input.buttons ?? [],
    target: {
      unitCode: input.target.unitCode ?? null,
      channels:
        input.target.channels && input.target.channels.length > 0
          ? input.target.channels
          : ['telegram', 'zalo'],
      lang: input.target.lang ?? null,
      tags: input.target.tags ?? [],
    },
    status: approvalRequired ? 'pending_approval' : 'scheduled',
    createdBy: input.createdBy,
    approvalRequired,
    sendAt: input.sendAt ?? null,
    ignoreQuietHours: input.ignoreQuietHours ?? false,
    recipientCount: recipients.total,
  });
  const id = doc._id.toString();
  if (approvalRequired)
    return { id, status: 'pending_approval', recipients, startsAt: null, heldByQuietHours: false };
  const start = await scheduleFanout(id, input.sendAt ?? null, input.ignoreQuietHours ?? false, deps);
  return { id, status: 'scheduled', recipients, ...start };
}

/** The start time after quiet hours: a broadcast never starts at night unless told to. */
export function startTime(
  sendAt: Date | null,
  ignoreQuietHours: boolean,
  env: Env,
  at: Date,
): { startsAt: Date; heldByQuietHours: boolean } {
  const wanted = sendAt && sendAt > at ? sendAt : at;
  const quietEnd = ignoreQuietHours
    ? null
    : quietUntil(wanted.getTime(), env.QUIET_HOURS_START, env.QUIET_HOURS_END);
  return quietEnd
    ? { startsAt: quietEnd, heldByQuietHours: true }
    : { startsAt: wanted, heldByQuietHours: false };
}

async function scheduleFanout(id: string, sendAt: Date | null, ignoreQuietHours: boolean, deps: ControlDeps) {
  const at = now(deps);
  const start = startTime(sendAt, ignoreQuietHours, deps.env, at);
  await deps.redis.set(controlKey(deps.prefix, id), 'running' satisfies ControlState, 'EX', CONTROL_TTL_S);
  await deps.queues.producer.add(
    JOB_FANOUT,
    { b: id },
    {
      jobId: fanoutJobId(id, start.startsAt.getTime()),
      delay: Math.max(0, start.startsAt.getTime() - at.getTime()),
    },
  );
  if (start.heldByQuietHours) await Broadcast.updateOne({ _id: id }, { $set: { heldUntil: start.startsAt } });
  return start;
}

/** The broadcast's state does not allow what was asked (a person can act on it: no stack trace). */
export class BroadcastStateError extends UserError {
  constructor(vi: string, en: string) {
    super(vi, en);
    this.name = 'BroadcastStateError';
  }
}

/** A second person (not the author) lets a pending broadcast go out. */
export async function approveBroadcast(
  id: string,
  approver: string,
  deps: ControlDeps,
): Promise<{ startsAt: Date; heldByQuietHours: boolean }> {
  const bc = await Broadcast.findById(id).lean();
  if (!bc) throw new BroadcastStateError(`không có thông báo ${id}`, `no broadcast ${id}`);
  if (bc.status !== 'pending_approval')
    throw new BroadcastStateError(
      `thông báo ${id} đang ở trạng thái ${bc.status}, không chờ duyệt`,
      `broadcast ${id} is ${bc.status}, not waiting for approval`,
    );
  if (approver.trim().toLowerCase() === bc.createdBy.trim().toLowerCase())
    throw new BroadcastStateError(
      'người soạn không được tự duyệt thông báo của mình, cần một người khác duyệt',
      'the author cannot approve their own broadcast; another person must approve it',
    );
  const r = await Broadcast.updateOne(
    { _id: id, status: 'pending_approval' },
    { $set: { status: 'scheduled', approvedBy: approver, approvedAt: now(deps) } },
  );
  if (r.modifiedCount !== 1)
    throw new BroadcastStateError(
      `thông báo ${id} vừa được thay đổi, xem lại trạng thái`,
      `broadcast ${id} changed meanwhile`,
    );
  return scheduleFanout(id, bc.sendAt ?? null, bc.ignoreQuietHours, deps);
}

/**
 * Sets a new start time. Waiting for approval: the time is kept for the approval to use. Scheduled
 * and not started: the waiting fan-out job is replaced by one at the new time. Once started, a
 * broadcast is paused or cancelled instead.
 */
export async function rescheduleBroadcast(
  id: string,
  sendAt: Date | null,
  ignoreQuietHours: boolean,
  deps: ControlDeps,
): Promise<{ startsAt: Date | null; heldByQuietHours: boolean }> {
  const bc = await Broadcast.findById(id, { status: 1, startedAt: 1 }).lean();
  if (!bc) throw new BroadcastStateError(`không có thông báo ${id}`, `no broadcast ${id}`);
  const changed = () =>
    new BroadcastStateError(
      `thông báo ${id} vừa được thay đổi, xem lại trạng thái`,
      `broadcast ${id} changed meanwhile`,
    );
  if (bc.status === 'pending_approval') {
    const r = await Broadcast.updateOne(
      { _id: id, status: 'pending_approval' },
      { $set: { sendAt, ignoreQuietHours } },
    );
    if (r.matchedCount !== 1) throw changed();
    return { startsAt: null, heldByQuietHours: false };
  }
  if (bc.status !== 'scheduled' || bc.startedAt)
    throw new BroadcastStateError(
      `thông báo ${id} đang ở trạng thái ${bc.status}, không hẹn lại giờ được`,
      `broadcast ${id} is ${bc.status}: it cannot be rescheduled`,
    );
  const r = await Broadcast.updateOne(
    { _id: id, status: 'scheduled', startedAt: null },
    { $set: { sendAt, ignoreQuietHours, heldUntil: null } },
  );
  if (r.matchedCount !== 1) throw changed();
  // The fan-out does not look at sendAt: the job waiting for the old time must go. Delayed jobs
  // of the control queue are few (one per scheduled broadcast, quiet-hour resumes).
  for (const job of await deps.queues.control.getDelayed()) {
    if (job.name === JOB_FANOUT && (job.data as { b?: string }).b === id) await job.remove();
  }
  return scheduleFanout(id, sendAt, ignoreQuietHours, deps);
}

/** Delivery jobs per addBulk (see enqueueDeliveries). */
const ADD_CHUNK = 50;

/** Adds one delivery job per recipient with stable jobIds, per channel in bulks of ADD_CHUNK. */
export async function enqueueDeliveries(
  broadcastId: string,
  rows: Array<{ contactId: string; channel: BroadcastChannel; chatId: string; lang: 'vi' | 'en' }>,
  queues: BroadcastQueues,
): Promise<void> {
  const byChannel = new Map<BroadcastChannel, Array<{ payload: DeliveryPayload; jobId: string }>>();
  for (const r of rows) {
    const list = byChannel.get(r.channel) ?? [];
    list.push({
      payload: { b: broadcastId, c: r.contactId, u: r.chatId, l: r.lang },
      jobId: deliveryJobId(broadcastId, r.contactId),
    });
    byChannel.set(r.channel, list);
  }
  // In small bulks, yielding between them: one addBulk of a 1,000-recipient page held the event
  // loop long enough to make the deliveries of the same process start their sends late.
  for (const [channel, jobs] of byChannel) {
    for (let i = 0; i < jobs.length; i += ADD_CHUNK) {
      await queues.producer.addBulk(JOB_DELIVER, jobs.slice(i, i + ADD_CHUNK), {
        queue: deliveryQueueName(channel),
      });
      await setImmediate();
    }
  }
}

/** Takes the queued recipients' jobs out of the queues (a locked, running job stays). */
async function removeQueuedJobs(id: string, deps: ControlDeps): Promise<void> {
  const store = new DeliveryStore(deps.redis, deps.prefix);
  for await (const page of store.queued(id)) {
    await Promise.all(
      page.map((p) => deps.queues.deliveryQueue(p.channel).remove(deliveryJobId(id, p.contactId))),
    );
  }
}

const PAUSABLE: BroadcastStatus[] = ['scheduled', 'fanning_out', 'sending'];

// KEYS: control key. ARGV: ttl. Sets 'paused' unless a cancel already holds the key.
const SET_PAUSED = `
if redis.call('get', KEYS[1]) == 'cancelled' then return 0 end
redis.call('set', KEYS[1], 'paused', 'EX', ARGV[1])
return 1`;
// KEYS: control key. ARGV: ttl. Undoes SET_PAUSED when the status update did not happen.
const UNSET_PAUSED = `
if redis.call('get', KEYS[1]) == 'paused' then redis.call('set', KEYS[1], 'running', 'EX', ARGV[1]) end
return 1`;

/**
 * Like cancel, the Redis control key comes first: sends stop as soon as it is set (every delivery
 * reads it just before its send), however long the MongoDB status update then takes. When the
 * update does not happen (the broadcast finished, or it failed), the key goes back to running
 * unless the broadcast is paused after all (another operator won the race).
 */
export async function pauseBroadcast(
  id: string,
  deps: ControlDeps,
  opts: { heldUntil?: Date } = {},
): Promise<boolean> {
  const bc = await Broadcast.findById(id, { status: 1 }).lean();
  if (!bc || !PAUSABLE.includes(bc.status)) return false;
  const key = controlKey(deps.prefix, id);
  if ((await deps.redis.eval(SET_PAUSED, 1, key, CONTROL_TTL_S)) !== 1) return false;
  let modified = false;
  try {
    const r = await Broadcast.updateOne(
      { _id: id, status: { $in: PAUSABLE } },
      { $set: { status: 'paused', pausedAt: now(deps), heldUntil: opts.heldUntil ?? null } },
    );
    modified = r.modifiedCount === 1;
  } finally {
    const pausedAnyway = async () =>
      (
        await Broadcast.findById(id, { status: 1 })
          .lean()
          .catch(() => null)
      )?.status === 'paused';
    if (!modified && !(await pausedAnyway())) {
      await deps.redis.eval(UNSET_PAUSED, 1, key, CONTROL_TTL_S);
    }
  }
  if (!modified) return false;
  await removeQueuedJobs(id, deps);
  if (opts.heldUntil) {
    const at = opts.heldUntil.getTime();
    await deps.queues.producer.add(
      JOB_RESUME,
      { b: id, held: at },
      { jobId: resumeJobId(id, at), delay: Math.max(0, at - now(deps).getTime()) },
    );
  }
  return true;
}

/** Quiet hours began mid-broadcast: pause it and resume at the end of the quiet period. */
export function holdBroadcast(id: string, until: Date, deps: ControlDeps): Promise<boolean> {
  return pauseBroadcast(id, deps, { heldUntil: until });
}

export async function resumeBroadcast(
  id: string,
  deps: ControlDeps,
  opts: { onlyHeldUntil?: number } = {},
): Promise<boolean> {
  const bc = await Broadcast.findById(id).lean();
  if (!bc || bc.status !== 'paused') return false;
  // A quiet-hours resume job does nothing once staff paused it themselves (heldUntil cleared).
  if (opts.onlyHeldUntil !== undefined && bc.heldUntil?.getTime() !== opts.onlyHeldUntil) return false;
  const next: BroadcastStatus = bc.fanoutDone ? 'sending' : bc.startedAt ? 'fanning_out' : 'scheduled';
  const r = await Broadcast.updateOne(
    { _id: id, status: 'paused' },
    { $set: { status: next, pausedAt: null, heldUntil: null } },
  );
  if (r.modifiedCount !== 1) return false;
  await deps.redis.set(controlKey(deps.prefix, id), 'running' satisfies ControlState, 'EX', CONTROL_TTL_S);
  // Not started yet: its fan-out is due at its own start time again, not now (a broadcast set for
  // next week and paused today must not go out on resume). The same start keeps the same job id,
  // so a delayed fan-out job still waiting is not doubled.
  if (next === 'scheduled') await scheduleFanout(id, bc.sendAt ?? null, bc.ignoreQuietHours, deps);
  else if (!bc.fanoutDone) {
    await deps.queues.producer.add(JOB_FANOUT, { b: id }, { jobId: fanoutJobId(id, `r${Date.now()}`) });
  }
  // Jobs a worker finished while paused still hold their jobId: remove them first, then re-add.
  await removeQueuedJobs(id, deps);
  const store = new DeliveryStore(deps.redis, deps.prefix);
  for await (const page of store.queued(id)) await enqueueDeliveries(id, page, deps.queues);
  return true;
}

export interface CancelResult {
  cancelled: boolean;
  /** Deliveries mid-send when the cancel was acknowledged: at most these still go out. */
  inFlight: number;
}

/**
 * Once this returns, no delivery starts a send: the control key says cancelled (read just before
 * every send) and no delivery is left 'queued' to claim. Only those already 'sending' may finish.
 */
export async function cancelBroadcast(id: string, deps: ControlDeps): Promise<CancelResult> {
  const cancellable: BroadcastStatus[] = [
    'pending_approval',
    'scheduled',
    'fanning_out',
    'sending',
    'paused',
  ];
  const bc = await Broadcast.findById(id, { status: 1 }).lean();
  if (!bc || !cancellable.includes(bc.status)) return { cancelled: false, inFlight: 0 };
  await deps.redis.set(controlKey(deps.prefix, id), 'cancelled' satisfies ControlState, 'EX', CONTROL_TTL_S);
  const store = new DeliveryStore(deps.redis, deps.prefix);
  // Read right after the control key: no claim succeeds from here on, so these are the only
  // deliveries that may still reach the platform.
  const { sending } = await store.counts(id);
  // Jobs out of the queues first (found by their queued state), then the states; the status last,
  // so the finisher never records a report before the cancelled count is in.
  await removeQueuedJobs(id, deps);
  await store.cancelQueued(id);
  await Broadcast.updateOne(
    { _id: id, status: { $in: cancellable } },
    { $set: { status: 'cancelled', cancelledAt: now(deps) } },
  );
  return { cancelled: true, inFlight: sending };
}
