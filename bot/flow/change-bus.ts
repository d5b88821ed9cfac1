import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { key, type RedisClient } from '../../lib/redis';
import { liveAssignmentsChanged, onLiveFlowsChanged } from './live-assignments';

export interface FlowChangeBus {
  close(): Promise<void>;
}

/**
 * Tells every process when what is live changes (a flow version assigned, unassigned or
 * published): a message on the prefixed Redis channel `<prefix>:flows:changed`, so the bot
 * processes' caches (FlowRepository, LiveAssignments) reload on the next survey start instead
 * of after their time to live. Pub/sub delivers at most once: a process that was disconnected
 * misses the message and falls back on the time to live (5 s), so nothing waits longer than
 * before. A process ignores its own messages (it has already reloaded).
 */
export async function startFlowChangeBus(
  redis: RedisClient,
  prefix: string,
  log: Logger,
): Promise<FlowChangeBus> {
  const channel = key(prefix, 'flows', 'changed');
  const origin = randomUUID();
  // A subscribed connection serves nothing else: its own, with the same nodes and options.
  const sub: RedisClient = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  sub.on('message', (ch: string, from: string) => {
    if (ch !== channel || from === origin) return;
    liveAssignmentsChanged({ fromElsewhere: true });
    log.debug({ channel }, 'live flows changed in another process');
  });
  await sub.subscribe(channel);
  const stop = onLiveFlowsChanged(() => {
    redis.publish(channel, origin).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'could not announce a live flow change');
    });
  });
  return {
    close: async () => {
      stop();
      await sub.quit();
    },
  };
}
