import type { RedisClient } from '../lib/redis';
import { Queue } from 'bullmq';
import { checkJobId } from './job-id';
import { jobOptionsOf, type QueueName } from './queues';
import { findJob, type JobName, type PayloadOf } from './jobs';
import { queuesOf, type JobDefinition } from './registry';

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
  /**
   * Stable id, made with `jobId()` (workers/job-id.ts): BullMQ ignores an add whose id it still
   * holds (retries, duplicate deliveries).
   */
  jobId?: string;
  delay?: number;
  priority?: number;
  /** Instead of the queue's backoff (tests that retry quickly). */
  backoff?: { type: 'fixed' | 'exponential'; delay: number };
}

/** Where to add: required for a job of several queues (a broadcast delivery: its channel's). */
export interface QueueChoice {
  queue?: QueueName;
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
        defaultJobOptions: jobOptionsOf(name),
      });
      this.queues.set(name, q);
    }
    return q;
  }

  private definition(name: string): JobDefinition {
    const def = findJob(name);
    if (!def) throw new UnknownJobError(name);
    return def;
  }

  private parse(def: JobDefinition, name: string, payload: unknown): unknown {
    const parsed = def.schema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidPayloadError(
        name,
        parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.code}`),
      );
    }
    return parsed.data;
  }

  private queueFor(def: JobDefinition, chosen: QueueName | undefined): Queue {
    const allowed = queuesOf(def);
    const queue = chosen ?? (allowed.length === 1 ? allowed[0] : undefined);
    if (!queue || !allowed.includes(queue))
      throw new Error(`job ${def.name} runs on ${allowed.join(', ')}: say which (${chosen ?? 'none given'})`);
    return this.getQueue(queue);
  }

  /** Validates, then adds; returns the job id (the given jobId when set). */
  async add<N extends JobName>(
    name: N,
    payload: PayloadOf<N>,
    opts: AddOptions & QueueChoice = {},
  ): Promise<string> {
    const def = this.definition(name);
    const data = this.parse(def, name, payload);
    const queue = this.queueFor(def, opts.queue);
    const job = await queue.add(name, data, { ...def.options, ...clean(opts) });
    return job.id ?? '';
  }

  /** `add` for a name known only at run time (a job's follow-ups): validated the same way. */
  async addByName(name: string, payload: unknown, opts: AddOptions & QueueChoice = {}): Promise<string> {
    return this.add(name as JobName, payload as never, opts);
  }

  /** Validates every item first: one bad payload adds none of them. Returns the job ids. */
  async addBulk<N extends JobName>(
    name: N,
    items: Array<{ payload: PayloadOf<N> } & AddOptions>,
    where: QueueChoice = {},
  ): Promise<string[]> {
    if (items.length === 0) return [];
    const def = this.definition(name);
    const queue = this.queueFor(def, where.queue);
    const jobs = items.map((i) => ({
      name,
      data: this.parse(def, name, i.payload),
      opts: def.options ? { ...def.options, ...clean(i) } : clean(i),
    }));
    return (await queue.addBulk(jobs)).map((j) => j.id ?? '');
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
  if (o.jobId !== undefined) {
    checkJobId(o.jobId);
    out.jobId = o.jobId;
  }
  if (o.backoff !== undefined) out.backoff = o.backoff;
  if (o.delay !== undefined) out.delay = o.delay;
  if (o.priority !== undefined) out.priority = o.priority;
  return out;
}
