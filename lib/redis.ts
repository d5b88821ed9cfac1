import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Env } from '../config/env';
import { logger } from './logger';

/** A connection to one Redis server or to a Redis Cluster; every module takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_CLUSTER_NODES, when set, wins over REDIS_URL; else REDIS_SENTINELS does. */
export type RedisTarget = Pick<Env, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_PASSWORD'> &
  Partial<Pick<Env, 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_SENTINEL_PASSWORD'>>;

/**
 * ioredis reports connection failures as 'error' events and prints "Unhandled error event" when
 * nobody listens (seen at shutdown, when a job still running after the drain timeout used a
 * closed connection). Its commands fail on their own, and their callers handle that; the event
 * is logged here, by cause only.
 */
function withErrorLog<R extends RedisClient>(r: R, role: string): R {
  r.on('error', (err: Error) => logger.warn({ role, err: err.message }, 'redis connection error'));
  return r;
}

/** What a factory builds: one server's connection, or a cluster client whose options apply to each node. */
export type ConnectionPlan =
  | { kind: 'single'; url: string; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; options: ClusterOptions };

/**
 * The producer connection fails fast so an HTTP request never hangs on a dead Redis; the worker
 * connection blocks (BullMQ needs maxRetriesPerRequest: null).
 *
 * The producer connection pipelines automatically (ioredis `enableAutoPipelining`): the commands
 * that concurrent turns issue in one event-loop tick go out in one socket write, because one
 * write per command was the largest item of the bot process's CPU under load (bench/RESULTS.md,
 * bot-turns history). Order per connection is unchanged. Not on worker connections: they issue
 * BullMQ's blocking commands.
 *
 * On a cluster every key is under the hash-tagged prefix, so every script and multi-key command
 * of the code lands on one slot; a MOVED reply (slots resharded, a replica promoted) is followed
 * by the client.
 */
export function connectionPlan(target: RedisTarget, role: 'producer' | 'worker'): ConnectionPlan {
  const options: RedisOptions =
    role === 'producer'
      ? { maxRetriesPerRequest: 3, enableReadyCheck: true, lazyConnect: false, enableAutoPipelining: true }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  const nodes = target.REDIS_CLUSTER_NODES;
  const password = target.REDIS_PASSWORD ? { password: target.REDIS_PASSWORD } : {};
  if (!nodes && target.REDIS_SENTINELS)
    // ioredis asks the sentinels for the master and, after a failover, reconnects to the new one.
    return {
      kind: 'sentinel',
      options: {
        ...options,
        ...password,
        sentinels: target.REDIS_SENTINELS,
        name: target.REDIS_SENTINEL_NAME ?? 'hailong',
        // Switch at the sentinels' +switch-master, and resend a write a demoted master refused.
        failoverDetector: true,
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
        ...(target.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: target.REDIS_SENTINEL_PASSWORD } : {}),
      },
    };
  if (!nodes) return { kind: 'single', url: target.REDIS_URL, options };
  return {
    kind: 'cluster',
    nodes,
    options: {
      enableReadyCheck: true,
      ...(role === 'producer' ? { enableAutoPipelining: true } : {}),
      redisOptions: { ...options, ...password },
    },
  };
}

function connect(target: RedisTarget, role: 'producer' | 'worker'): RedisClient {
  const plan = connectionPlan(target, role);
  const r =
    plan.kind === 'single'
      ? new Redis(plan.url, plan.options)
      : plan.kind === 'sentinel'
        ? new Redis(plan.options)
        : new Cluster(plan.nodes, plan.options);
  return withErrorLog(r, role);
}

/** Named connection factories (as in Formbricks): see connectionPlan. */
export function createProducerConnection(target: RedisTarget): RedisClient {
  return connect(target, 'producer');
}

export function createWorkerConnection(target: RedisTarget): RedisClient {
  return connect(target, 'worker');
}

/** Builds keys under the single hash-tagged prefix, e.g. key('{hl}', 'tg', 'upd', 42) → "{hl}:tg:upd:42". */
export function key(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts.map(String)].join(':');
}
