import { Redis, type RedisOptions } from 'ioredis';

/**
 * Named connection factories (as in Formbricks): a producer connection fails fast so an HTTP
 * request never hangs on a dead Redis; a worker connection blocks (BullMQ needs
 * maxRetriesPerRequest: null).
 */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, enableReadyCheck: true, lazyConnect: false, ...extra });
}

export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra });
}

/** Builds keys under the single hash-tagged prefix, e.g. key('{hl}', 'tg', 'upd', 42) → "{hl}:tg:upd:42". */
export function key(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts.map(String)].join(':');
}
