import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics, in one registry of its own (not prom-client's global one, so
 * a test or a second app in the same process starts from what this file declares). The HTTP
 * route that exposes it is bot/http/routes/metrics.ts; this file only declares and counts.
 * Labels carry no identifier: a channel, a queue, a method or an error code, never a chat, a
 * user, a dossier or a job id (docs/observability.md lists every metric).
 */
export const metrics = new Registry();

/** Updates given up after their retry window and kept as dead letters, per channel. */
export const updatesDeadLettered = new Counter({
  name: 'hailong_updates_dead_lettered_total',
  help: 'Inbound chat updates given up after their retry window and kept as dead letters',
  labelNames: ['channel'] as const,
  registers: [metrics],
});

// Memory, CPU, event-loop lag and handles of this process (the soak test watches these).
collectDefaultMetrics({ register: metrics, prefix: 'hailong_' });

export type PlatformName = 'telegram' | 'zalo';

/** One conversation turn (ConversationService.handle): from the inbound event to the reply decided. */
export const turnDuration = new Histogram({
  name: 'hailong_turn_duration_seconds',
  help: 'Time of one conversation turn, from the inbound event to the reply decided, by channel',
  labelNames: ['channel'] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metrics],
});

/**
 * Inbound updates by what became of them: applied, duplicate (a redelivery, ignored), ignored
 * (nothing to do), retried (a transient failure, tried again later), dead_lettered / failed
 * (given up).
 */
export const updatesProcessed = new Counter({
  name: 'hailong_updates_total',
  help: 'Inbound chat updates by channel and outcome (applied, duplicate, ignored, retried, dead_lettered, failed)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [metrics],
});

/** Jobs per queue and state, read from Redis when scraped (see setQueueDepthSource). */
export const queueJobs = new Gauge({
  name: 'hailong_queue_jobs',
  help: 'Jobs per queue and state (wait, active, delayed, prioritized, failed), read at scrape time',
  labelNames: ['queue', 'state'] as const,
  registers: [metrics],
  async collect() {
    if (!queueDepthSource) return;
    this.reset();
    // Redis down or slow: the scrape still answers, without these series (their absence is the signal).
    let timer: NodeJS.Timeout | undefined;
    const rows = await Promise.race([
      queueDepthSource(),
      new Promise<QueueDepthRow[]>((resolve) => (timer = setTimeout(() => resolve([]), 2000))),
    ])
      .catch(() => [])
      .finally(() => clearTimeout(timer));
    for (const row of rows) this.set({ queue: row.queue, state: row.state }, row.count);
  },
});

export interface QueueDepthRow {
  queue: string;
  state: string;
  count: number;
}
let queueDepthSource: (() => Promise<QueueDepthRow[]>) | null = null;

/** Where the queue depth comes from: the process that serves /metrics sets it (null: not reported). */
export function setQueueDepthSource(source: (() => Promise<QueueDepthRow[]>) | null): void {
  queueDepthSource = source;
}

/** How long a job took, per queue and outcome (completed, failed), attempts counted one by one. */
export const jobDuration = new Histogram({
  name: 'hailong_job_duration_seconds',
  help: 'Time of one job attempt by queue and outcome (completed, failed)',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [metrics],
});

/** Failed job attempts per queue; `final` is "true" when no attempt is left (the job stays failed). */
export const jobFailures = new Counter({
  name: 'hailong_job_failures_total',
  help: 'Failed job attempts by queue; final="true" when the job has no attempt left',
  labelNames: ['queue', 'final'] as const,
  registers: [metrics],
});

/** Every call to a chat platform's API, each retry counted; method is the API method or endpoint name. */
export const platformCalls = new Counter({
  name: 'hailong_platform_api_calls_total',
  help: 'Calls to the Telegram and Zalo APIs by platform, method and outcome (ok, error)',
  labelNames: ['platform', 'method', 'outcome'] as const,
  registers: [metrics],
});

/** Failed platform calls by the platform's error code (an HTTP status, a Zalo error number, or network). */
export const platformErrors = new Counter({
  name: 'hailong_platform_api_errors_total',
  help: 'Failed calls to the Telegram and Zalo APIs by platform and error code (HTTP/Bot API code, Zalo error, network)',
  labelNames: ['platform', 'code'] as const,
  registers: [metrics],
});

/** When this process last had a platform call answer without error (Unix seconds). */
export const platformLastSuccess = new Gauge({
  name: 'hailong_platform_api_last_success_timestamp_seconds',
  help: 'Unix time of the last platform API call of this process that succeeded, by platform',
  labelNames: ['platform'] as const,
  registers: [metrics],
});

const lastSuccessAt = new Map<PlatformName, number>();

/** Counts one platform call; the one function the Telegram and Zalo clients call. */
export function countPlatformCall(
  platform: PlatformName,
  method: string,
  error: { code: string | number } | null,
  now = Date.now(),
): void {
  platformCalls.inc({ platform, method, outcome: error ? 'error' : 'ok' });
  if (error) {
    platformErrors.inc({ platform, code: String(error.code) });
    return;
  }
  lastSuccessAt.set(platform, now);
  platformLastSuccess.set({ platform }, Math.floor(now / 1000));
}

/** The last successful call of this process per platform (epoch ms), for lib/platform-health.ts. */
export function lastPlatformSuccess(): ReadonlyMap<PlatformName, number> {
  return lastSuccessAt;
}

/** Broadcast messages settled, by channel and outcome (sent, blocked, failed): rate() is the broadcast rate. */
export const broadcastMessages = new Counter({
  name: 'hailong_broadcast_messages_total',
  help: 'Broadcast messages settled by channel and outcome (sent, blocked, failed)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [metrics],
});

export type FunnelMetricStage = 'invited' | 'reminded' | 'started' | 'completed' | 'expired';

/**
 * The invitation funnel, one count per dossier and stage: invited (the invitation was sent),
 * reminded (a reminder was sent), started and completed (the survey's first start and completion,
 * counted once by the dossier's conditional update), expired (a due invitation or reminder found
 * the survey's link expired unanswered).
 */
export const invitationFunnel = new Counter({
  name: 'hailong_invitation_funnel_total',
  help: 'Invitation funnel events by stage (invited, reminded, started, completed, expired)',
  labelNames: ['stage'] as const,
  registers: [metrics],
});

// --- No published flow (issue 21, "Faults"): a citizen's /start that found no flow to start. ---

/** A survey start refused because no version of its flow is published: operators must act. */
export const noPublishedFlow = new Counter({
  name: 'hailong_no_published_flow_total',
  help: 'Survey starts refused because no version of the flow is published (citizen got an apology)',
  labelNames: ['channel', 'flow'] as const,
  registers: [metrics],
});
