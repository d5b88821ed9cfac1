import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { key } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';

/**
 * Broadcast queues. Fan-out, scheduled starts and quiet-hour resumes run on 'broadcast' (the
 * registry's queue name, consumed only by workers/broadcast). Deliveries get one queue per
 * channel, because BullMQ's limiter and its 429 pause are per queue: a Telegram 429 must stop
 * every Telegram send and no Zalo send.
 */
export const CONTROL_QUEUE = 'broadcast';
export const deliveryQueueName = (channel: BroadcastChannel): string => `broadcast-${channel}`;

export const JOB_FANOUT = 'broadcast.fanout';
export const JOB_RESUME = 'broadcast.resume';
export const JOB_DELIVER = 'broadcast.deliver';

/** Stable per (broadcast, contact): re-adding after a restart is a no-op while the job exists. */
export const deliveryJobId = (broadcastId: string, contactId: string): string => `bc-${broadcastId}-${contactId}`;

/** Broadcast id, contact id, chat/user id and language: all the send path needs. */
export interface DeliveryPayload {
  b: string;
  c: string;
  u: string;
  l: 'vi' | 'en';
}

export const DELIVERY_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  // What stops a repeat is the delivery's state, not its finished job: a job added again (a
  // repeated fan-out page, a resume) finds its delivery settled at the claim and sends nothing.
  // So a finished job is not kept: what it would tell is in the delivery's state and counts,
  // and kept jobs fill Redis after a large broadcast and cost BullMQ's finishing script its
  // completed-set writes. Failed ones are kept.
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
});

export const CONTROL_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
});

/** Staff control of a running broadcast, read by every delivery just before its send. */
export type ControlState = 'running' | 'paused' | 'cancelled';
export const controlKey = (prefix: string, broadcastId: string): string => key(prefix, 'bc', broadcastId, 'ctl');
/** Control keys outlive any broadcast (a month), then Redis forgets them. */
export const CONTROL_TTL_S = 31 * 24 * 3600;

export class BroadcastQueues {
  readonly control: Queue;
  private readonly delivery = new Map<BroadcastChannel, Queue>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
  ) {
    this.control = new Queue(CONTROL_QUEUE, { connection, prefix, defaultJobOptions: { ...CONTROL_JOB_OPTIONS } });
  }

  deliveryQueue(channel: BroadcastChannel): Queue {
    let q = this.delivery.get(channel);
    if (!q) {
      q = new Queue(deliveryQueueName(channel), { connection: this.connection, prefix: this.prefix, defaultJobOptions: { ...DELIVERY_JOB_OPTIONS } });
      this.delivery.set(channel, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([this.control.close(), ...[...this.delivery.values()].map((q) => q.close())]);
  }
}
