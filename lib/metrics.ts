import { Counter, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics, in one registry of its own (not prom-client's global one, so
 * a test or a second app in the same process starts from what this file declares). The HTTP
 * route that exposes it is another part's (`/metrics`); this file only declares and counts.
 * Labels carry no identifier: a channel name, never a chat or a user.
 */
export const metrics = new Registry();

/** Updates given up after their retry window and kept as dead letters, per channel. */
export const updatesDeadLettered = new Counter({
  name: 'hailong_updates_dead_lettered_total',
  help: 'Inbound chat updates given up after their retry window and kept as dead letters',
  labelNames: ['channel'] as const,
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
