import type { RedisClient } from '../lib/redis';
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
  redis: RedisClient;
  /** Hash-tagged prefix of every Redis key, BullMQ's included ({hl} in production). */
  prefix: string;
  /**
   * The process's stop signal (lib/shutdown.ts): given to every platform client the process
   * makes, so a stopping process does not wait out a platform that hangs. Absent in tests and
   * commands that never stop mid-call.
   */
  stopSignal?: AbortSignal;
}
