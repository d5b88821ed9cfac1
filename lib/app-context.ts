import type { Redis } from 'ioredis';
import type { Env } from '../config/env';
import type { Logger } from './logger';

/**
 * What every module of a running process shares. Built once by app/start.ts; tests build their
 * own with a fresh database and key prefix.
 */
export interface AppContext {
  env: Env;
  log: Logger;
  /** Producer connection: fails fast, for request paths and enqueueing. */
  redis: Redis;
  /** Hash-tagged prefix of every Redis key, BullMQ's included ({hl} in production). */
  prefix: string;
}
