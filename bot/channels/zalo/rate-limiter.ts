import type { RedisClient } from '../../../lib/redis';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Logger } from '../../../lib/logger';
import { ZaloRateLimitedError } from './errors';

/**
 * Zalo allows 4,000 API requests per minute per app (-32 beyond it; docs/platform-limits.md). Every outbound
 * Zalo request of every process waits for a permit from one BullMQ queue, `zalo-api`, whose
 * global rate limit (`Queue.setGlobalRateLimit`, kept in the queue's meta in Redis and honoured
 * by every worker of the queue) is the shared limiter. Each process admits permits with a small
 * worker of its own and hears of its permit's admission through QueueEvents; a permit carries no
 * data. A -32 stops admissions for everybody (`Queue.rateLimit`).
 *
 * BullMQ counts in fixed windows (a counter that expires `duration` after its first admission),
 * while Zalo's per-minute count is not documented as aligned to anything. So the minute is cut
 * into slices: any stretch of `windowMs + jitterMs` overlaps at most
 * ceil((windowMs + jitterMs) / sliceMs) + 1 BullMQ windows, and each admits
 * floor(limit / that) permits. Requests that leave up to `jitterMs` apart from their admission
 * (event delivery, a busy event loop) therefore never put more than `limit` into any window as
 * Zalo counts them. With the defaults (4,000/min, 1 s slices, 1 s jitter) that is 64 a second:
 * 3,840 a minute, 96% of the limit.
 */
// A semaphore, not a job queue: its permits carry no payload and run no handler, so it stays
// outside the job catalogue (workers/jobs) and the queue table (workers/queues.ts) on purpose,
// with a Worker of its own that only admits permits.
export const ZALO_API_QUEUE = 'zalo-api';

export interface ZaloRateLimiterOptions {
  /** Producer connection: adds permits and reads the limiter. */
  redis: RedisClient;
  /** A new blocking connection (maxRetriesPerRequest: null), called twice: worker and events. Closed by `close()`. */
  blockingConnection: () => RedisClient;
  prefix: string;
  /** Requests allowed in any window of `windowMs`. */
  limit: number;
  windowMs?: number;
  sliceMs?: number;
  /** Tolerated delay between a permit's admission and its request reaching Zalo. */
  jitterMs?: number;
  /** Give up after waiting this long for the rate limit (the caller's job retries later). */
  maxWaitMs?: number;
  log?: Logger;
}

export { ZaloRateLimitedError } from './errors';

/** The BullMQ global rate limit that keeps any window of `windowMs` at or under `limit`. */
export function sliceBudget(
  limit: number,
  windowMs: number,
  sliceMs: number,
  jitterMs: number,
): { max: number; duration: number } {
  const windows = Math.ceil((windowMs + jitterMs) / sliceMs) + 1;
  const max = Math.floor(limit / windows);
  if (max < 1)
    throw new Error(
      `Zalo rate limit ${limit} per ${windowMs} ms is too small for ${sliceMs} ms slices (${windows} per window)`,
    );
  return { max, duration: sliceMs };
}

/** How long an admission may take beyond any rate-limit wait (a queue round trip, normally ms). */
const ADMISSION_SLACK_MS = 5000;
/** Admitted permits are kept this long, so a waiter that checks late still finds its own. */
const PERMIT_KEEP_S = 60;
/** How often the budget is written again (see `whenReady`). */
const BUDGET_REFRESH_MS = 60_000;

export class ZaloRateLimiter {
  readonly queue: Queue;
  readonly budget: { max: number; duration: number };
  private readonly events: QueueEvents;
  private readonly worker: Worker;
  private readonly connections: RedisClient[];
  private ready: Promise<void> | null = null;
  private appliedAt = 0;
  private readonly producer: RedisClient;
  private readonly onReconnect = (): void => {
    this.ready = null;
  };
  private readonly maxWaitMs: number;

  constructor(opts: ZaloRateLimiterOptions) {
    this.budget = sliceBudget(
      opts.limit,
      opts.windowMs ?? 60_000,
      opts.sliceMs ?? 1000,
      opts.jitterMs ?? 1000,
    );
    this.maxWaitMs = opts.maxWaitMs ?? 10_000;
    this.producer = opts.redis;
    const eventsConnection = opts.blockingConnection();
    const workerConnection = opts.blockingConnection();
    this.connections = [eventsConnection, workerConnection];
    this.queue = new Queue(ZALO_API_QUEUE, {
      connection: opts.redis,
      prefix: opts.prefix,
      defaultJobOptions: {
        removeOnComplete: { age: PERMIT_KEEP_S },
        removeOnFail: { age: PERMIT_KEEP_S },
        attempts: 1,
      },
    });
    // Every waiting acquire listens for the queue's 'closing' (BullMQ's waitUntilFinished).
    this.queue.setMaxListeners(0);
    this.events = new QueueEvents(ZALO_API_QUEUE, { connection: eventsConnection, prefix: opts.prefix });
    // The permit is the job: admitting it is all the work there is. A worker that meets the limit
    // sleeps; BullMQ lets it sleep up to 30 s, so a pause lifted early (`Queue.removeRateLimitKey`)
    // would go unnoticed that long. It looks again after one slice instead.
    this.worker = new Worker(ZALO_API_QUEUE, async () => undefined, {
      connection: workerConnection,
      prefix: opts.prefix,
      concurrency: 20,
      maximumRateLimitDelay: this.budget.duration,
    });
    // BullMQ reports connection trouble as 'error' events; unheard, an 'error' event kills the process.
    const log = opts.log;
    const onError = (err: Error) =>
      log?.warn({ queue: ZALO_API_QUEUE, err: err.message }, 'zalo limiter error');
    this.queue.on('error', onError);
    this.events.on('error', onError);
    this.worker.on('error', onError);
    opts.redis.on('ready', this.onReconnect);
  }

  /**
   * Sets the budget (every process the same values) before the first permit, and again every
   * minute and after the producer connection reconnects: the budget lives in Redis, and a Redis
   * that restarted without its data would otherwise admit permits without any limit.
   */
  private whenReady(): Promise<void> {
    if (this.ready && Date.now() - this.appliedAt < BUDGET_REFRESH_MS) return this.ready;
    this.appliedAt = Date.now();
    this.ready = Promise.all([
      this.queue.setGlobalRateLimit(this.budget.max, this.budget.duration),
      this.events.waitUntilReady(),
    ]).then(
      () => undefined,
      (err: unknown) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  /** Waits for a request permit; throws ZaloRateLimitedError when that would take longer than maxWaitMs. */
  async acquire(): Promise<void> {
    await this.whenReady();
    const ttl = await this.pausedFor();
    // Paused after a -32 beyond what we may wait: fail now instead of queueing a permit.
    if (ttl > this.maxWaitMs && ttl > this.budget.duration) throw new ZaloRateLimitedError(ttl);
    const job = await this.queue.add('permit', {});
    try {
      await job.waitUntilFinished(this.events, this.maxWaitMs + ADMISSION_SLACK_MS);
    } catch (err) {
      if (!/timed out/.test((err as Error).message)) throw err;
      // Not admitted in time (a pause, or a backlog of permits): take the permit back so it does
      // not use a slot nobody needs, and let the caller's job retry.
      await job.remove().catch(() => undefined);
      const left = await this.pausedFor().catch(() => 0);
      throw new ZaloRateLimitedError(Math.max(left, this.budget.duration));
    }
  }

  /** After a -32: nobody is admitted for `ms`. */
  async pause(ms: number): Promise<void> {
    await this.queue.rateLimit(Math.max(1, Math.round(ms)));
  }

  /** Milliseconds until admissions resume, 0 when permits flow. */
  pausedFor(): Promise<number> {
    return this.queue.getRateLimitTtl();
  }

  async close(): Promise<void> {
    this.producer.removeListener('ready', this.onReconnect);
    await this.worker.close();
    await this.events.close();
    await this.queue.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => undefined)));
  }
}
