import { z } from 'zod';
import { key } from '../../lib/redis';
import { jobId } from '../job-id';

/**
 * The names a broadcast is known by in Redis: its jobs, their payloads and ids, and the control
 * key every delivery reads. Apart from the queues (queues.ts), so the job handlers (jobs.ts and
 * what they call) import them without loading the producer, which loads the catalogue.
 */
export const JOB_FANOUT = 'broadcast.fanout';
export const JOB_RESUME = 'broadcast.resume';
export const JOB_DELIVER = 'broadcast.deliver';

/** Stable per (broadcast, contact): re-adding after a restart is a no-op while the job exists. */
export const deliveryJobId = (broadcastId: string, contactId: string): string =>
  jobId('bc', broadcastId, contactId);
/** One per start time: a rescheduled broadcast's new start is another job. */
export const fanoutJobId = (broadcastId: string, at: number | string): string =>
  jobId('bc-fanout', broadcastId, at);
/** One per quiet-hours hold (`at`: the end of the hold). */
export const resumeJobId = (broadcastId: string, at: number): string => jobId('bc-resume', broadcastId, at);

const id = z.string().min(1).max(64);

/**
 * A delivery job's payload, kept compact (one job per recipient, hundreds of thousands in a
 * broadcast): broadcast id `b`, contact id `c`, chat/user id `u` and language `l`, all the send
 * path needs.
 */
export const deliveryPayloadSchema = z.object({
  b: id,
  c: id,
  u: z.string().min(1).max(128),
  l: z.enum(['vi', 'en']),
});
export type DeliveryPayload = z.infer<typeof deliveryPayloadSchema>;

export const fanoutPayloadSchema = z.object({ b: id });
/** `held`: the end of the quiet-hours hold that scheduled it (ms); absent for a staff resume. */
export const resumePayloadSchema = z.object({ b: id, held: z.number().int().optional() });

/** Staff control of a running broadcast, read by every delivery just before its send. */
export type ControlState = 'running' | 'paused' | 'cancelled';
export const controlKey = (prefix: string, broadcastId: string): string =>
  key(prefix, 'bc', broadcastId, 'ctl');
/** Control keys outlive any broadcast (a month), then Redis forgets them. */
export const CONTROL_TTL_S = 31 * 24 * 3600;
