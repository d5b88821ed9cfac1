import { Redis, type RedisOptions } from 'ioredis';
import { logger } from './logger';

/**
 * ioredis reports connection failures as 'error' events and prints "Unhandled error event" when
 * nobody listens (seen at shutdown, when a job still running after the drain timeout used a
 * closed connection). Its commands fail on their own, and their callers handle that; the event
 * is logged here, by cause only.
 */
function withErrorLog(r: Redis, role: string): Redis {
  r.on('error', (err: Error) => logger.warn({ role, err: err.message }, 'redis connection error'));
  return r;
}

/**
 * Named connection factories (as in Formbricks): a producer connection fails fast so an HTTP
 * request never hangs on a dead Redis; a worker connection blocks (BullMQ needs
 * maxRetriesPerRequest: null).
 *
 * The producer connection pipelines automatically (ioredis `enableAutoPipelining`): the commands
 * that concurrent turns issue in one event-loop tick go out in one socket write, because one
 * write per command was the largest item of the bot process's CPU under load (bench/RESULTS.md,
 * bot-turns history). Order per connection is unchanged. Not on worker connections: they issue
 * BullMQ's blocking commands.
 */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return withErrorLog(
    new Redis(url, {
      maxRetriesPerRequest: 3,
      enableReadyCheck: true,
      lazyConnect: false,
      enableAutoPipelining: true,
      ...extra,
    }),
    'producer',
  );
}

export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return withErrorLog(
    new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }),
    'worker',
  );
}

/** Builds keys under the single hash-tagged prefix, e.g. key('{hl}', 'tg', 'upd', 42) → "{hl}:tg:upd:42". */
export function key(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts.map(String)].join(':');
}
