import { defineJob, type JobContext } from '../registry';
import { resumeBroadcast } from './control';
import type { DeliveryProcessor } from './delivery';
import { runFanout, type FanoutDeps } from './fanout';
import {
  deliveryPayloadSchema,
  fanoutPayloadSchema,
  JOB_DELIVER,
  JOB_FANOUT,
  JOB_RESUME,
  resumePayloadSchema,
} from './names';

/**
 * The broadcast jobs. The control queue's (`ctx.deps`: the fan-out's deps, start.ts) turn a
 * broadcast into deliveries and resume it; a delivery (`ctx.deps`: the channel's processor)
 * runs on its channel's queue and sends one message.
 */
export const broadcastFanout = defineJob({
  name: JOB_FANOUT,
  queue: 'broadcast',
  schema: fanoutPayloadSchema,
  handle: (p, ctx: JobContext<FanoutDeps>): Promise<void> => runFanout(p.b, ctx.deps),
});

export const broadcastResume = defineJob({
  name: JOB_RESUME,
  queue: 'broadcast',
  schema: resumePayloadSchema,
  handle: async (p, ctx: JobContext<FanoutDeps>): Promise<void> =>
    void (await resumeBroadcast(p.b, ctx.deps, p.held !== undefined ? { onlyHeldUntil: p.held } : {})),
});

export const broadcastDeliver = defineJob({
  name: JOB_DELIVER,
  queue: ['broadcast-telegram', 'broadcast-zalo'],
  schema: deliveryPayloadSchema,
  handle: (p, ctx: JobContext<DeliveryProcessor>): Promise<void> => ctx.deps.process(p, ctx.job),
});
