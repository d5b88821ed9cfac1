import type { RedisClient } from '../lib/redis';
import { Queue } from 'bullmq';
import { DEFAULT_JOB_OPTIONS, type QueueName } from './queues';
import { findJob, type JobName, type PayloadOf } from './jobs';
import type { JobDefinition } from './registry';

export class UnknownJobError extends Error {
  constructor(readonly job: string) {
    super(`unknown job "${job}"`);
    this.name = 'UnknownJobError';
  }
}

/** The payload did not match the job's schema. Issues name paths, never values (personal data). */
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
  /** Stable id: BullMQ ignores an add whose id it still holds (retries, duplicate deliveries). */
  jobId?: string;
  delay?: number;
  priority?: number;
}

/**
 * Adds jobs by name. The payload is parsed with the job's schema before anything reaches Redis
 * (the worker parses it again), so a bad payload is refused where it was made and nothing is
 * enqueued. Queues live under `prefix` (BullMQ's `prefix`), like every other key.
 */
export class JobProducer {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    /** The producer's Redis connection (also for keys a job's producer writes beside it). */
    readonly connection: RedisClient,
    readonly prefix: string,
  ) {}

  getQueue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: { ...DEFAULT_JOB_OPTIONS },
      });
      this.queues.set(name, q);
    }
    return q;
  }

  private validate(name: string, payload: unknown): { def: JobDefinition; data: unknown } {
    const def = findJob(name);
    if (!def) throw new UnknownJobError(name);
    const parsed = def.schema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        name,
        parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.code}`),
      );
    }
    return { def, data: parsed.data };
  }

  /** Validates, then adds; returns the job id (the given jobId when set). */
  async add<N extends JobName>(name: N, payload: PayloadOf<N>, opts: AddOptions = {}): Promise<string> {
    const { def, data } = this.validate(name, payload);
    const job = await this.getQueue(def.queue).add(name, data, { ...def.options, ...clean(opts) });
    return job.id ?? '';
  }

  /** `add` for a name known only at run time (a job's follow-ups): validated the same way. */
  async addByName(name: string, payload: unknown, opts: AddOptions = {}): Promise<string> {
    return this.add(name as JobName, payload as never, opts);
  }

  /** Validates every item first: one bad payload adds none of them. Returns the job ids. */
  async addBulk<N extends JobName>(
    name: N,
    items: Array<{ payload: PayloadOf<N> } & AddOptions>,
  ): Promise<string[]> {
    if (items.length === 0) return [];
    const checked = items.map((i) => ({ ...this.validate(name, i.payload), opts: clean(i) }));
    const queue = this.getQueue(checked[0].def.queue);
    const jobs = await queue.addBulk(
      checked.map(({ def, data, opts }) => ({ name, data, opts: { ...def.options, ...opts } })),
    );
    return jobs.map((j) => j.id ?? '');
  }

  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close()));
  }
}

/** Only the options we allow, without undefined keys (they would override the defaults). */
function clean(o: AddOptions): AddOptions {
  const out: AddOptions = {};
  if (o.jobId !== undefined) out.jobId = o.jobId;
  if (o.delay !== undefined) out.delay = o.delay;
  if (o.priority !== undefined) out.priority = o.priority;
  return out;
}
