import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_JOB_OPTIONS, type QueueName } from './queues';
import { findJob } from './jobs';

export class UnknownJobError extends Error {
  constructor(name: string) {
    super(`unknown job "${name}"`);
    this.name = 'UnknownJobError';
  }
}

export class InvalidPayloadError extends Error {
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`invalid payload for ${job}: ${issues.join('; ')}`);
    this.name = 'InvalidPayloadError';
  }
}

export interface AddOptions {
  jobId?: string;
  delay?: number;
  priority?: number;
}

/**
 * Adds jobs by name. The payload is parsed with the job's schema before anything reaches Redis
 * (the worker parses it again), so a bad payload is refused where it was made.
 */
export class JobProducer {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  getQueue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: { ...DEFAULT_JOB_OPTIONS } });
      this.queues.set(name, q);
    }
    return q;
  }

  private validate(name: string, payload: unknown) {
    const def = findJob(name);
    if (!def) throw new UnknownJobError(name);
    const parsed = def.schema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(name, parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`));
    }
    return { def, data: parsed.data as unknown };
  }

  async add(name: string, payload: unknown, opts: AddOptions = {}): Promise<string> {
    const { def, data } = this.validate(name, payload);
    const job = await this.getQueue(def.queue).add(name, data, { ...def.options, ...opts });
    return job.id ?? '';
  }

  async addBulk(name: string, items: Array<{ payload: unknown } & AddOptions>): Promise<number> {
    if (items.length === 0) return 0;
    const checked = items.map((i) => ({ ...this.validate(name, i.payload), opts: i }));
    const queue = this.getQueue(checked[0]!.def.queue);
    await queue.addBulk(
      checked.map(({ def, data, opts }) => ({
        name,
        data,
        opts: { ...def.options, ...(opts.jobId ? { jobId: opts.jobId } : {}), ...(opts.delay ? { delay: opts.delay } : {}) },
      })),
    );
    return items.length;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
