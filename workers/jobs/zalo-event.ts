import type { Job } from 'bullmq';
import { z } from 'zod';
import { defineJob, type JobContext } from '../registry';

/**
 * A Zalo webhook event, queued by the webhook route (bot/channels/zalo/webhook-route.ts) with the
 * event's identity as job id, processed on 'zalo-inbound'. The schema lives here, in the
 * catalogue, and the processing in the Zalo channel: `ctx.deps` is what the channel started the
 * queue's worker with (bot/channels/zalo/inbound-worker.ts), so the catalogue loads nothing of
 * the channel.
 */
export const zaloEventJobSchema = z.object({
  eventId: z.string().min(1).max(200),
  event: z.record(z.string(), z.unknown()),
  receivedAt: z.number(),
  /** Messages rendered by the turn, kept so a retried job resends instead of re-running the turn. */
  outbox: z.array(z.record(z.string(), z.unknown())).optional(),
  sent: z.number().int().min(0).optional(),
});
export type ZaloEventJob = z.infer<typeof zaloEventJobSchema>;

export interface ZaloEventRuntime {
  process(data: ZaloEventJob, job: Job): Promise<unknown>;
}

export const zaloEvent = defineJob({
  name: 'zalo.event',
  queue: 'zalo-inbound',
  schema: zaloEventJobSchema,
  handle: (p, ctx: JobContext<ZaloEventRuntime>): Promise<unknown> => ctx.deps.process(p, ctx.job),
});
