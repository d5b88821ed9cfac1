import type { Queue } from 'bullmq';
import type { RedisClient } from '../../lib/redis';
import type { BroadcastChannel } from '../../models/broadcast';
import { JobProducer } from '../producer';
import { deliveryQueueName } from '../queues';

export { deliveryQueueName };
export {
  CONTROL_TTL_S,
  controlKey,
  deliveryJobId,
  JOB_DELIVER,
  JOB_FANOUT,
  JOB_RESUME,
  type ControlState,
  type DeliveryPayload,
} from './names';

/**
 * Broadcast queues (their options are in the queue table, workers/queues.ts). Fan-out, scheduled
 * starts and quiet-hour resumes run on 'broadcast'. Deliveries get one queue per channel,
 * because BullMQ's limiter and its 429 pause are per queue: a Telegram 429 must stop every
 * Telegram send and no Zalo send. Jobs are added through `producer` (the catalogue's schemas).
 */
export const CONTROL_QUEUE = 'broadcast';

export class BroadcastQueues {
  readonly producer: JobProducer;

  constructor(connection: RedisClient, prefix: string) {
    this.producer = new JobProducer(connection, prefix);
  }

  get prefix(): string {
    return this.producer.prefix;
  }

  get control(): Queue {
    return this.producer.getQueue(CONTROL_QUEUE);
  }

  deliveryQueue(channel: BroadcastChannel): Queue {
    return this.producer.getQueue(deliveryQueueName(channel));
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
