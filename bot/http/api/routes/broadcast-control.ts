import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Broadcast } from '../../../../models/broadcast';
import { BROADCAST_STATUSES } from '../../../../models/broadcast';
import {
  approveBroadcast,
  cancelBroadcast,
  pauseBroadcast,
  resumeBroadcast,
} from '../../../../workers/broadcast/control';
import { broadcastProgress, type BroadcastProgress } from '../../../../workers/broadcast/progress';
import { ApiError, notFound } from '../errors';
import { controlDeps } from '../producers';
import { defineRoute, REPLIED } from '../route';
import { isoDate } from '../schemas';
import { asState, broadcastBody, broadcastOut, broadcastParams, scopedBroadcast } from './broadcasts';

const counts = z.record(z.string(), z.number().int());
const progressBody = z
  .object({
    id: z.string(),
    status: z.enum(BROADCAST_STATUSES),
    recipients: z.number().int(),
    fanoutDone: z.boolean(),
    counts: z.object({
      queued: z.number().int(),
      sending: z.number().int(),
      sent: z.number().int(),
      failed: z.number().int(),
      blocked: z.number().int(),
      skipped: z.number().int(),
      cancelled: z.number().int(),
    }),
    done: z.number().int(),
    ratePerS: z.number(),
    etaSeconds: z.number().int().nullable(),
    failedReasons: counts,
    blockedReasons: counts,
    unsubscribedDuring: z.number().int(),
    inFlightAtCrash: z.number().int(),
    createdBy: z.string(),
    approvedBy: z.string().nullable(),
    heldUntil: isoDate.nullable(),
    sendAt: isoDate.nullable(),
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
  })
  .meta({ id: 'BroadcastProgress' });

const TERMINAL = new Set(['completed', 'cancelled']);
/** How often the stream reads the counters; a comment line keeps idle proxies from closing it. */
const STREAM_TICK_MS = 1000;
const STREAM_PING_MS = 15_000;

async function progressOf(
  id: string,
  redis: Parameters<typeof broadcastProgress>[1],
  prefix: string,
): Promise<BroadcastProgress> {
  const p = await broadcastProgress(id, redis, prefix);
  if (!p) throw notFound();
  return p;
}

const BC = { tag: 'broadcasts', auth: 'user', scope: { kind: 'object' }, params: broadcastParams } as const;

/** pause, resume, cancel: one route each, the control module's answer false is 409. */
function controlRoute(verb: 'pause' | 'resume' | 'cancel', vi: string) {
  return defineRoute({
    ...BC,
    id: `broadcasts.${verb}`,
    method: 'POST',
    path: `/broadcasts/:id/${verb}`,
    summary: `${vi} / ${verb} the broadcast`,
    description:
      verb === 'cancel'
        ? 'No delivery starts a send once this answers; `inFlight` were mid-send and may still arrive. Audited.'
        : 'Audited. 409 when its state does not allow it.',
    permission: 'broadcasts:write',
    errors: [409],
    response: broadcastBody.extend({ inFlight: z.number().int().optional() }),
    handler: async ({ params, scope, deps, audit }) => {
      const b = await scopedBroadcast(params.id, scope);
      const cd = controlDeps(deps.ctx);
      let inFlight: number | undefined;
      let ok: boolean;
      if (verb === 'cancel') {
        const r = await cancelBroadcast(params.id, cd);
        ok = r.cancelled;
        inFlight = r.inFlight;
      } else
        ok = verb === 'pause' ? await pauseBroadcast(params.id, cd) : await resumeBroadcast(params.id, cd);
      if (!ok)
        throw new ApiError(
          409,
          'conflict',
          `Không ${vi.toLowerCase()} được thông báo ở trạng thái ${b.status}. / The broadcast cannot be ${verb}d while ${b.status}.`,
        );
      await audit({
        action: `broadcast.${verb === 'cancel' ? 'cancelled' : verb === 'pause' ? 'paused' : 'resumed'}`,
        targetType: 'broadcast',
        targetId: params.id,
        unitCode: b.target?.unitCode ?? null,
        ...(inFlight !== undefined ? { details: { inFlight } } : {}),
      });
      const now = await Broadcast.findById(params.id).lean<Parameters<typeof broadcastOut>[0]>();
      return { ...broadcastOut(now!), ...(inFlight !== undefined ? { inFlight } : {}) };
    },
  });
}

export const broadcastControlRoutes = [
  defineRoute({
    ...BC,
    id: 'broadcasts.get',
    method: 'GET',
    path: '/broadcasts/:id',
    summary: 'Một thông báo / one broadcast and its progress',
    permission: 'broadcasts:read',
    response: z.object({ broadcast: broadcastBody, progress: progressBody }),
    handler: async ({ params, scope, deps }) => {
      const b = await scopedBroadcast(params.id, scope);
      return {
        broadcast: broadcastOut(b),
        progress: await progressOf(params.id, deps.ctx.redis, deps.ctx.prefix),
      };
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.approve',
    method: 'POST',
    path: '/broadcasts/:id/approve',
    summary: 'Duyệt / approve a broadcast waiting for approval (not its author)',
    description:
      'A unit manager (or district, admin) of the broadcast’s unit. 409 for its own author or another state. Audited.',
    permission: 'broadcasts:approve',
    errors: [409],
    response: broadcastBody.extend({ startsAt: isoDate, heldByQuietHours: z.boolean() }),
    handler: async ({ params, scope, caller, deps, audit }) => {
      const b = await scopedBroadcast(params.id, scope);
      const r = await asState(() => approveBroadcast(params.id, caller.actor, controlDeps(deps.ctx)));
      await audit({
        action: 'broadcast.approved',
        targetType: 'broadcast',
        targetId: params.id,
        unitCode: b.target?.unitCode ?? null,
      });
      const now = await Broadcast.findById(params.id).lean<Parameters<typeof broadcastOut>[0]>();
      return {
        ...broadcastOut(now!),
        startsAt: r.startsAt.toISOString(),
        heldByQuietHours: r.heldByQuietHours,
      };
    },
  }),

  controlRoute('pause', 'Tạm dừng'),
  controlRoute('resume', 'Tiếp tục'),
  controlRoute('cancel', 'Huỷ'),

  defineRoute({
    ...BC,
    id: 'broadcasts.stream',
    method: 'GET',
    path: '/broadcasts/:id/stream',
    summary: 'Tiến độ trực tiếp / progress as server-sent events',
    description:
      'An `event: progress` (data: the BroadcastProgress JSON) whenever the counts change, a comment every 15 s, ' +
      'and `event: end` once the broadcast is completed or cancelled; then the stream closes.',
    permission: 'broadcasts:read',
    response: z.string().describe('text/event-stream'),
    produces: 'text/event-stream',
    handler: async ({ params, scope, deps, req, reply }) => {
      await scopedBroadcast(params.id, scope);
      const { redis, prefix } = deps.ctx;
      let p = await progressOf(params.id, redis, prefix);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let open = true;
      req.raw.on('close', () => void (open = false));
      let last = '';
      let quietSince = Date.now();
      try {
        while (open) {
          const data = JSON.stringify(p);
          if (data !== last) {
            res.write(`event: progress\ndata: ${data}\n\n`);
            last = data;
            quietSince = Date.now();
          } else if (Date.now() - quietSince >= STREAM_PING_MS) {
            res.write(': ping\n\n');
            quietSince = Date.now();
          }
          if (TERMINAL.has(p.status)) {
            res.write('event: end\ndata: {}\n\n');
            break;
          }
          await sleep(STREAM_TICK_MS);
          const next = await broadcastProgress(params.id, redis, prefix);
          if (!next) break;
          p = next;
        }
      } catch (err) {
        deps.ctx.log.error(
          { broadcastId: params.id, err: (err as Error).message },
          'broadcast stream failed',
        );
      } finally {
        res.end();
      }
      return REPLIED;
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.report',
    method: 'GET',
    path: '/broadcasts/:id/report',
    summary: 'Báo cáo cuối / the final report of a finished broadcast',
    description:
      'Sent, failed, blocked, skipped and cancelled, with the reasons. 409 while it is not finished.',
    permission: 'broadcasts:read',
    errors: [409],
    response: progressBody,
    handler: async ({ params, scope, deps }) => {
      const b = await scopedBroadcast(params.id, scope);
      if (!b.finishedAt)
        throw new ApiError(
          409,
          'not_finished',
          `Thông báo chưa kết thúc (${b.status}). / Not finished yet (${b.status}).`,
        );
      return progressOf(params.id, deps.ctx.redis, deps.ctx.prefix);
    },
  }),
];
